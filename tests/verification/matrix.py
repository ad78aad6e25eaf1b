"""Authorization-matrix expectations of the verification routes, on real cases and an employer.

Verification cases are USCIS's data, one category for every row: adam (an admin) and vera (a
status verifier) read them at home, petra under the USCIS-to-TWC agreement, and nobody else
(eddie's agreement ran out, ICE has none, sally is SSA's). Two real cases of two employers: a citizen's TNC and a permanent resident's (with an
A-Number), each person's name, date of birth and last four being the secrets.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.privacy.authmatrix import PERSONAS, SIGNED_IN, Route, page, public
from tests.verification import matrix_more

READERS = {"adam", "vera", "petra"}
PEOPLE: dict[str, dict[str, Any]] = {
    "citizen": {
        "first_name": "Leocadia",
        "last_name": "Wintergreen",
        "date_of_birth": date(1979, 5, 21),
        "ssn": "528-36-1947",
    },
    "resident": {
        "first_name": "Evander",
        "last_name": "Haverstock",
        "date_of_birth": date(1988, 12, 2),
        "ssn": "529-41-7352",
        "citizenship_status": "permanent_resident",
        "document_type": "permanent_resident_card",
        "a_number": "A207418365",
        "document_number": "IOE0918273645",
    },
}


def secrets_of(key: str) -> dict[str, set[str]]:
    """Each secret of a case's worker, and who may ever read it.

    The names and the document's last four reach the readers (and the employer's own key, for
    its case); the date of birth and the last four of the SSN only that key (the readers' screens
    leave SSA data out), the A-Number's last four also vera (DHS data, USCIS's own).
    """
    person = PEOPLE[key]
    own = {"api_key"} if key == "citizen" else set()
    dob: date = person["date_of_birth"]
    out = {
        person["first_name"]: READERS | own,
        person["last_name"]: READERS | own,
        dob.isoformat(): own,
        dob.strftime("%b. %-d, %Y"): set(),  # as the pages would write it: none does
        f"•••{person['ssn'][-4:]}": own,
    }
    if person.get("a_number"):  # DHS data: USCIS's own, which vera reads at home
        out[f"•••{person['a_number'][-4:]}"] = own | {"vera"}
    if person.get("document_number"):
        out[f"•••{person['document_number'][-4:]}"] = READERS | own
    return out


def build(world: dict[str, Any]) -> None:
    """Two employers, a case of each through the submit service, a hiring site and an API key."""
    from verification import services

    adam = world["adam"]
    today = date.today()
    world["vcases"] = {}
    for n, (key, person) in enumerate(PEOPLE.items()):
        employer = services.employer_enrol(
            actor=adam,
            ein=f"66-00000{n + 1:02d}",
            name=f"Matrix Employer {n + 1}",
            naics="111998",
            state="TX",
            mou_signed_on=date(2024, 1, 5),
        )
        data = {
            "middle_initial": "",
            "other_last_names": "",
            "citizenship_status": "citizen",
            "document_type": "us_passport",
            "document_number": f"X{9100000 + n}",
            "document_expires_on": today + timedelta(days=900),
            "offer_accepted_on": today - timedelta(days=5),
            "i9_completed_on": today - timedelta(days=1),
            "hire_date": today,
            "employee_email": "",
            "employer_case_id": f"MX-{n}",
            **person,
        }
        world["vcases"][key] = services.case_create(actor=None, employer=employer, data=data)
        world.setdefault("employer", employer)
    world["matrix_key"], _ = services.apikey_issue(
        actor=adam, employer=world["employer"], label="matrix-rotate"
    )
    for key in PEOPLE:
        world["secrets"].update(secrets_of(key))


def api_key(world: dict[str, Any]) -> str:
    """The employer API key persona: a live key of the citizen's employer (not the resident's)."""
    from verification import services

    _, raw = services.apikey_issue(actor=world["adam"], employer=world["employer"], label="matrix")
    return raw


def _api(api_key_answer: Any, **options: Any) -> Route:
    """An employer-API route: people's sessions do not authenticate it (401); the key gets its answer."""
    return Route(
        expect={**dict.fromkeys(PERSONAS, 401), "api_key": api_key_answer}, api=True, **options
    )


def _vcase(key: str) -> Any:
    return lambda w: {"pk": w["vcases"][key].pk}


def _post_only(**options: Any) -> Route:
    return page(dict.fromkeys(SIGNED_IN, 405), **options)


def _readers() -> dict[str, Any]:
    return {**dict.fromkeys(SIGNED_IN, 404), **dict.fromkeys(READERS, 200)}


EXPECTATIONS: dict[str, Route] = {
    "verification:case-list": page(READERS),
    "verification:case-detail": page(_readers(), kwargs=_vcase("citizen")),
    "verification:case-detail resident": page(_readers(), kwargs=_vcase("resident")),
    "verification:case-detail missing": page(dict.fromkeys(SIGNED_IN, 404), kwargs={"pk": 999999}),
    "verification:case-resolve": _post_only(kwargs=_vcase("citizen")),
    "verification:case-contact": _post_only(kwargs=_vcase("citizen")),
    "verification:case-reveal": _post_only(kwargs=_vcase("resident")),
    "verification:employer-list": page({"adam"}),
    "verification:employer-new": page({"adam"}),
    "verification:employer-detail": page({"adam"}, kwargs=lambda w: {"pk": w["employer"].pk}),
    "verification:site-new": _post_only(kwargs=lambda w: {"pk": w["employer"].pk}),
    "verification:apikey-new": _post_only(kwargs=lambda w: {"pk": w["employer"].pk}),
    "verification:apikey-rotate": _post_only(kwargs=lambda w: {"pk": w["matrix_key"].pk}),
    "verification:apikey-revoke": _post_only(kwargs=lambda w: {"pk": w["matrix_key"].pk}),
}
# Revealing an identifier needs "change" on verification cases: only vera holds it (adam's admin
# role and petra's agreement read only), and the case pages offer her nothing to reveal here
# (`selectors.reveal_offer`: 403, nothing audited as shown); everyone else the 404 of a missing
# case. Rolled back after each cell.
for _key, _field in (("citizen", "ssn"), ("resident", "a_number")):
    EXPECTATIONS[f"verification:case-reveal POST-{_key}"] = page(
        {**dict.fromkeys(SIGNED_IN, 404), "vera": 403},
        method="POST",
        kwargs=_vcase(_key),
        data={"field": _field, "reason": "Matrix: confirming the number"},
    )

# The employer API, on the key's own case and on another employer's (the same 404 as a missing one).
EXPECTATIONS.update(
    {
        "api-cases": _api(200),
        "api-case-detail": _api(200, kwargs=_vcase("citizen")),
        "api-case-detail other-employer": _api(404, kwargs=_vcase("resident")),
        "api-case-detail missing": _api(404, kwargs={"pk": "999999"}),
        "api-case-submit-draft": _api(405, kwargs=_vcase("citizen")),
        "api-case-notice": _api(405, kwargs=_vcase("citizen")),
        "api-case-decision": _api(405, kwargs=_vcase("citizen")),
        "api-case-refer": _api(405, kwargs=_vcase("citizen")),
        "api-case-close": _api(405, kwargs=_vcase("citizen")),
        "api-case-close POST-other-employer": _api(
            404, method="POST", kwargs=_vcase("resident"), data={"code": "other"}
        ),
        "api/v1/^.*$": public(404, path="/api/v1/no-such-thing/"),
    }
)

# The portal, bulk, webhook and notice routes (role-level, missing objects): tests/verification/matrix_more.py.
EXPECTATIONS.update(matrix_more.EXPECTATIONS)
