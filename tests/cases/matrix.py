"""Authorization-matrix expectations of the cases routes, on real cases (tests/privacy/authmatrix.py).

Four cases, each about a person of its own (name, date of birth and last four are the secrets):

- `own`: a flagged case of ICE-HSI routed to Worksite A, alice's and sam's unit;
- `other_unit`: a flagged case of ICE-HSI routed to Worksite B, bob's unit;
- `agreement`: a flagged case ICE-HSI handed off to TWC under the ICE-to-TWC agreement, so now
  TWC's (petra's and eddie's agency: their home data, whatever became of eddie's agreements);
- `outside`: a flagged case owned by SSA, routed to SSA's Numident unit: no agreement covers SSA
  investigations for anybody here, so nobody in the matrix may open it.

And `noticed`: an investigation of Worksite A (alice its agent, sam its supervisor) with the
printed notice (the notice route and its evidence download), and a task on it.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.privacy.authmatrix import SIGNED_IN, Route, page

CASE_WORKERS = {"alice", "bob", "sam", "petra", "eddie"}
# Who may open each case's page (everyone else among CASE_WORKERS gets the 404 of a missing one).
READERS: dict[str, set[str]] = {
    "own": {"alice", "sam"},
    "other_unit": {"bob"},
    "agreement": {"petra", "eddie"},
    "outside": set(),
    "noticed": {"alice", "sam"},
}
PEOPLE: dict[str, tuple[str, str, date, str]] = {
    # key: (given name, surname, date of birth, SSN)
    "own": ("Ottoline", "Brackenbury", date(1961, 7, 19), "523417341"),
    "other_unit": ("Barnaby", "Fitzwilliam", date(1972, 11, 5), "524826158"),
    "agreement": ("Cosima", "Thistlewood", date(1984, 3, 27), "525932590"),
    "outside": ("Dashiell", "Umberfield", date(1958, 9, 14), "526049036"),
    "noticed": ("Euphemia", "Gallowglass", date(1990, 1, 23), "527154417"),
}
FAMILY = {
    "own": "identity_ssa",
    "other_unit": "identity_dhs",
    "agreement": "identity_ssa",
    "outside": "deceased",
    "noticed": "identity_ssa",
}
MISSING = 999999
_ein = itertools.count(880000001)


def secrets_of(key: str) -> dict[str, set[str]]:
    """Each secret of a case's person, and who may ever read it.

    The name (as written and as the findings write it, in capitals) reaches the case's readers.
    The date of birth and the last four of the SSN are SSA identity data, which no persona of the
    matrix holds: no page may show them to anybody. (The printed notice names the last four to the
    noticed case's readers; it is a PDF now, whose text tests/cases/test_notices.py reads.)
    """
    first, last, dob, ssn = PEOPLE[key]
    readers = READERS[key]
    return {
        f"{first} {last}": readers,
        last: readers,
        last.upper(): readers,
        dob.isoformat(): set(),
        dob.strftime("%b. %-d, %Y"): set(),
        f"•••{ssn[-4:]}": set(),
        f"ending {ssn[-4:]}": set(),
    }


def _findings_fields(dob: date, first: str, last: str, source: str) -> list[dict[str, Any]]:
    return [
        {
            "field": "last_name",
            "source": source,
            "submitted": last.upper(),
            "reference": "ZZYZX",
            "score": 0.2,
        },
        {
            "field": "first_name",
            "source": source,
            "submitted": first.upper(),
            "reference": first.upper(),
            "score": 1.0,
        },
        {
            "field": "date_of_birth",
            "source": source,
            "submitted": dob.isoformat(),
            "reference": dob.isoformat(),
            "score": 1.0,
        },
    ]


def build(world: dict[str, Any]) -> None:
    """The five cases through the real ingest and services, their evidence, a task and the secrets."""
    from cases import services
    from cases.models import Case, RoutingRule
    from tests.cases.conftest import finding, verification_case
    from verification.models import Employer

    directory = world["directory"]
    alice, sam = world["alice"], world["sam"]
    RoutingRule.objects.create(rule_family="", state="", unit=directory["unit_a"])
    RoutingRule.objects.create(rule_family="identity_dhs", state="", unit=directory["unit_b"])
    RoutingRule.objects.create(rule_family="deceased", state="", unit=directory["ssa_numident"])
    employer = Employer.objects.create(
        ein=str(next(_ein)),
        name="Matrix Builders",
        naics="236220",
        state="TX",
        mou_signed_on=date(2015, 1, 1),
    )
    cases: dict[str, Any] = {}
    for key, (first, last, dob, ssn) in PEOPLE.items():
        vcase = verification_case(employer, ssn=ssn, first=first, last=last, dob=dob)
        # The noticed case's finding compares with ICE's own enforcement data (which its readers hold
        # at home), so its printed notice is theirs to read; the others compare with SSA's.
        source = "enforcement" if key == "noticed" else "ssa"
        fields = _findings_fields(dob, first, last, source)
        found = finding(vcase=vcase, family=FAMILY[key], fields=fields)
        services.findings_ingest_all()
        cases[key] = Case.objects.get(case_findings__finding=found)
    services.case_handoff(
        actor=alice,
        case=cases["agreement"],
        to_unit=directory["twc_unit"],
        agreement_id=world["partner_agreements"]["ice"].pk,
    )
    noticed = services.case_open_investigation(actor=alice, case=cases["noticed"])
    noticed = services.case_request_verification(actor=alice, case=noticed)
    noticed = services.case_verify_match(actor=sam, case=noticed, note="Numident checked by hand.")
    noticed = services.case_notice_issue(actor=alice, case=noticed)
    world["cases"] = {k: Case.objects.get(pk=c.pk) for k, c in cases.items()}
    world["cases"]["noticed"] = noticed
    world["case_evidence"] = services.evidence_add(
        actor=alice,
        case=cases["own"],
        upload=SimpleUploadedFile("pay-stub.txt", b"Matrix evidence", content_type="text/plain"),
    )
    world["notice_evidence"] = noticed.evidence.get(kind="notice")
    world["case_task"] = services.case_task_add(
        actor=alice, case=cases["own"], title="Call the employer"
    )
    for key in PEOPLE:
        world["secrets"].update(secrets_of(key))


def _case(key: str) -> Any:
    return lambda w: {"pk": w["cases"][key].pk}


def _readers(key: str, answer: Any = 200) -> dict[str, Any]:
    """Case workers: the readers get `answer`, the others the 404 of a missing case."""
    return {p: (answer if p in READERS[key] else 404) for p in CASE_WORKERS}


def _post_only(**options: Any) -> Route:
    """A POST-only route: every signed-in persona gets 405 for a GET, before any object is read."""
    return page(dict.fromkeys(SIGNED_IN, 405), **options)


EXPECTATIONS: dict[str, Route] = {
    "cases:queue": page(CASE_WORKERS),
    "cases:bulk": _post_only(),
    "cases:export": page(CASE_WORKERS),
    "cases:view-save": _post_only(),
    "cases:view-delete": _post_only(kwargs={"pk": MISSING}),
    "cases:next": page(dict.fromkeys(CASE_WORKERS, "redirect")),
    "cases:investigations": page(CASE_WORKERS),
    "cases:search": page(CASE_WORKERS),
    "cases:dashboard": page(CASE_WORKERS),
    "cases:notifications": page(SIGNED_IN),
    "cases:detail": page(_readers("own"), kwargs=_case("own")),
    "cases:action": _post_only(kwargs=lambda w: {"pk": w["cases"]["own"].pk, "action": "assign"}),
    "cases:evidence-upload": _post_only(kwargs=_case("own")),
    # a missing notice, a case one may not read and a role without case work: the same 404
    "cases:notice": page(
        {**dict.fromkeys(SIGNED_IN, 404), **dict.fromkeys(READERS["noticed"], 200)},
        kwargs=_case("noticed"),
    ),
    "cases:evidence-download": page(
        {**dict.fromkeys(SIGNED_IN, 404), **dict.fromkeys(READERS["own"], 200)},
        kwargs=lambda w: {"pk": w["case_evidence"].pk},
    ),
    "cases:task-done": _post_only(kwargs=lambda w: {"pk": w["case_task"].pk}),
}

# The same screens on each of the other cases, and on a case that does not exist.
for _key in ("other_unit", "agreement", "outside", "noticed"):
    EXPECTATIONS[f"cases:detail {_key}"] = page(_readers(_key), kwargs=_case(_key))
for _key in ("own", "other_unit", "agreement", "outside"):
    # no notice was printed for these: the readers get the 404 of a missing notice too
    EXPECTATIONS[f"cases:notice {_key}"] = page(dict.fromkeys(SIGNED_IN, 404), kwargs=_case(_key))
EXPECTATIONS["cases:detail missing"] = page(
    dict.fromkeys(CASE_WORKERS, 404), kwargs={"pk": MISSING}
)
EXPECTATIONS["cases:evidence-download notice"] = page(
    {**dict.fromkeys(SIGNED_IN, 404), **dict.fromkeys(READERS["noticed"], 200)},
    kwargs=lambda w: {"pk": w["notice_evidence"].pk},
)
# POSTs of a case action, rolled back after each cell: only the readers reach the case.
for _key in ("own", "other_unit", "agreement", "outside"):
    EXPECTATIONS[f"cases:action POST-{_key}"] = page(
        {**_readers(_key, "redirect")},
        method="POST",
        kwargs=lambda w, k=_key: {"pk": w["cases"][k].pk, "action": "tag"},
        data={"add": "matrix", "remove": ""},
    )
