"""Retention over the real sources: a purge takes the copies derived from what it destroys.

Verification cases are destroyed with their findings, the cases' links to those findings, the
flagged cases left with no finding, shadow hits and the row history of all of them; open
investigations hold what they cite; the preview's counts are what a purge destroys; a chunk that
fails leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from audit.models import AuditEvent, RowChange
from cases.models import Case, CaseEvent, CaseFinding, RoutingRule
from cases.services import case_dismiss, case_open_investigation, findings_ingest_all
from crossref.models import Finding, Run, RunMode, ShadowHit
from privacy import registry, services
from privacy.models import PurgeRun, Tombstone
from privacy.services.retention import _walk_counts, purge_chunk, retention_counts
from tests.cases.conftest import employer, finding, verification_case
from verification.models import VerificationCase

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(directory: dict[str, Any]) -> RoutingRule:
    return RoutingRule.objects.create(rule_family="", state="", unit=directory["unit_a"])


@pytest.fixture
def acme(db: Any) -> Any:
    return employer()


@pytest.fixture
def findings_history() -> Iterator[None]:
    """Findings given row history for the test (the trigger goes with the test's transaction)."""
    from audit import history

    had = "crossref.Finding" in history.TRACKED
    history.track("crossref.Finding")
    history.install()
    yield
    if not had:
        history.TRACKED.pop("crossref.Finding", None)


def _old(*vcases: VerificationCase, years: int = 11) -> None:
    VerificationCase.objects.filter(pk__in=[v.pk for v in vcases]).update(
        created_at=timezone.now() - relativedelta(years=years)
    )


def _aggregate(vcases: list[VerificationCase], *, rule: str = "SSN-VELOCITY") -> Finding:
    """A finding about one SSN whose evidence lists several cases (as the SSN rules write it)."""
    f = finding(
        rule=rule, family="ssn", ssn_index=vcases[0].ssn_bidx, evidence=f"window:{vcases[0].pk}"
    )
    Finding.objects.filter(pk=f.pk).update(
        case_id=vcases[-1].pk, evidence={"case_ids": [v.pk for v in vcases], "window_days": 30}
    )
    return f


def _case_of(f: Finding) -> Case:
    return Case.objects.get(case_findings__finding=f)


def _run(adam: Any) -> PurgeRun:
    run = services.purge_preview(actor=adam)
    services.purge_approve(actor=adam, run=run)
    run.refresh_from_db()
    return run


def _history(model: Any, *pks: int) -> int:
    return RowChange.objects.filter(
        table_name=model._meta.db_table, row_pk__in=[str(p) for p in pks]
    ).count()


def test_a_purged_verification_case_takes_its_findings_case_links_shadow_hits_and_their_history(
    adam, routing, acme, findings_history, settings
):
    settings.PRIVACY_PURGE_CHUNK = 1
    # Ana: one case past retention, one recent; a finding on each and one that counts both.
    a_old = verification_case(acme, ssn="600000001", first="Ana", last="Garcia")
    a_new = verification_case(acme, ssn="600000001", first="Ana", last="Garcia")
    # Dan: a single case past retention, flagged by a finding about it and one about his SSN alone.
    dan = verification_case(acme, ssn="600000002", first="Dan", last="Ruiz")
    # Bea: recent, untouched.
    bea = verification_case(acme, ssn="600000003", first="Bea", last="Soto")
    _old(a_old, dan)
    f_a_old, f_a_new = finding(vcase=a_old), finding(vcase=a_new)
    f_ana_both = _aggregate([a_old, a_new])
    f_dan = finding(vcase=dan)
    f_dan_ssn = finding(
        rule="SSN-VELOCITY-2", family="ssn", ssn_index=dan.ssn_bidx, evidence="window:x"
    )
    Finding.objects.filter(pk=f_dan_ssn.pk).update(evidence={})
    f_bea = finding(vcase=bea)
    f_rate = finding(
        rule="EMP-LATE",
        family="employer",
        subject_type="employer",
        employer_id=acme.pk,
        evidence="late",
    )
    findings_ingest_all()
    ana_case, dan_case, bea_case, acme_case = (
        _case_of(f_a_new),
        _case_of(f_dan),
        _case_of(f_bea),
        _case_of(f_rate),
    )
    assert _case_of(f_a_old) == _case_of(f_ana_both) == ana_case
    assert ana_case.finding_count == 3
    shadow = Run.objects.create(owner=adam, mode=RunMode.SHADOW)
    hits = {
        key: ShadowHit.objects.create(
            run=shadow,
            rule_code="X",
            rule_version=2,
            subject_key=key[0],
            evidence_key=key[1],
            severity="high",
            summary="s",
        )
        for key in [
            (f"case:{a_old.pk}", "numident:1"),
            (f"case:{bea.pk}", "numident:2"),
            (f"ssn:{dan.ssn_bidx}", "window:1"),
            (f"employer:{acme.pk}", f"tnc_idle:{dan.pk}"),
            (f"employer:{acme.pk}", f"tnc_idle:{bea.pk}"),
            (f"employer:{acme.pk}", "late"),
        ]
    }
    assert all(_history(Finding, f.pk) for f in (f_a_old, f_dan, f_a_new))
    assert _history(Case, dan_case.pk)

    run = _run(adam)
    assert run.preview["verification.case"] == {"years": 10, "due": 2, "held": 0, "to_destroy": 2}
    services.purge_run_execute(run=run)
    run.refresh_from_db()

    assert set(VerificationCase.objects.values_list("pk", flat=True)) == {a_new.pk, bea.pk}
    assert run.destroyed["verification.case"] == run.preview["verification.case"]["to_destroy"] == 2
    # Findings: about a purged case, citing one, or about a person with no case left, go.
    assert set(Finding.objects.values_list("pk", flat=True)) == {f_a_new.pk, f_bea.pk, f_rate.pk}
    assert not CaseFinding.objects.filter(
        finding_id__in=[f_a_old.pk, f_ana_both.pk, f_dan.pk, f_dan_ssn.pk]
    ).exists()
    # Dan's flagged case is left with nothing: it goes, tombstoned; Ana's keeps her recent finding.
    assert not Case.objects.filter(pk=dan_case.pk).exists()
    assert set(Case.objects.values_list("pk", flat=True)) == {
        ana_case.pk,
        bea_case.pk,
        acme_case.pk,
    }
    ana_case.refresh_from_db()
    assert ana_case.finding_count == 1
    assert CaseEvent.objects.filter(case=ana_case, kind="retention").exists()
    assert set(Tombstone.objects.values_list("source", "record_id")) == {
        ("verification.case", str(a_old.pk)),
        ("verification.case", str(dan.pk)),
        ("cases.case", str(dan_case.pk)),
    }
    # Shadow hits about the purged cases or their people go.
    left = set(ShadowHit.objects.values_list("subject_key", "evidence_key"))
    assert left == {
        (f"case:{bea.pk}", "numident:2"),
        (f"employer:{acme.pk}", f"tnc_idle:{bea.pk}"),
        (f"employer:{acme.pk}", "late"),
    }
    assert len(hits) == 6
    # Row history of everything destroyed goes; the rest keeps its own.
    assert _history(Finding, f_a_old.pk, f_ana_both.pk, f_dan.pk, f_dan_ssn.pk) == 0
    assert _history(Finding, f_a_new.pk)
    assert _history(Finding, f_bea.pk)
    assert _history(Case, dan_case.pk) == 0
    assert _history(Case, ana_case.pk)
    assert _history(VerificationCase, a_old.pk, dan.pk) == 0
    assert _history(VerificationCase, a_new.pk)
    # One audit event per batch, with the copies counted per type.
    batches = list(
        AuditEvent.objects.filter(
            action="retention.batch_destroyed", detail__source="verification.case"
        )
    )
    assert len(batches) == 2
    derived = run.destroyed["derived"]
    assert derived == {
        "crossref.finding": 4,
        "crossref.shadowhit": 3,
        "cases.casefinding": 4,
        "cases.case": 1,
    }
    assert sum(b.detail["derived"].get("crossref.finding", 0) for b in batches) == 4


def test_an_open_investigation_holds_its_cases_and_their_findings(adam, alice, routing, acme):
    eve = verification_case(acme, ssn="600000011", first="Eve", last="Lara")
    f1 = verification_case(acme, ssn="600000012", first="Fay", last="Mora")
    f2 = verification_case(acme, ssn="600000012", first="Fay", last="Mora")
    gus = verification_case(acme, ssn="600000013", first="Gus", last="Paz")
    _old(eve, f1, f2, gus)
    f_eve, f_fay, f_gus = finding(vcase=eve), _aggregate([f1, f2]), finding(vcase=gus)
    findings_ingest_all()
    for f in (f_eve, f_fay):
        case_open_investigation(actor=alice, case=_case_of(f))

    run = _run(adam)
    # Eve's case, and both of Fay's (her finding's evidence cites the first too), are held.
    assert run.preview["verification.case"] == {"years": 10, "due": 4, "held": 3, "to_destroy": 1}
    services.purge_run_execute(run=run)

    assert set(VerificationCase.objects.values_list("pk", flat=True)) == {eve.pk, f1.pk, f2.pk}
    assert set(Finding.objects.values_list("pk", flat=True)) == {f_eve.pk, f_fay.pk}
    assert CaseFinding.objects.filter(finding__in=[f_eve, f_fay]).count() == 2
    assert not Finding.objects.filter(pk=f_gus.pk).exists()


def test_the_preview_counts_in_sql_what_the_walk_counts_and_what_the_purge_destroys(
    adam, alice, routing, acme, settings
):
    settings.PRIVACY_PURGE_CHUNK = 2
    old = [verification_case(acme, ssn=f"60000002{i}", first="Al", last=f"N{i}") for i in range(6)]
    young = verification_case(acme, ssn="600000029", first="Yo", last="Ung")
    _old(*old)
    for v in (*old, young):
        finding(vcase=v)
    findings_ingest_all()
    # Holds of every kind: a record, a person, an open investigation; and two closed cases past retention.
    services.legal_hold_place(
        actor=adam, reason="Litigation 1", source="verification.case", record_id=str(old[0].pk)
    )
    services.legal_hold_place(
        actor=adam, reason="Litigation 2", person_ref=f"worker:{old[1].worker_id}"
    )
    investigation = Case.objects.get(case_findings__finding__case_id=old[2].pk)
    case_open_investigation(actor=alice, case=investigation)
    dismissed = [Case.objects.get(case_findings__finding__case_id=v.pk) for v in (young, old[3])]
    for c in dismissed:
        case_dismiss(actor=alice, case=c, reason="clerical")
    Case.objects.filter(pk__in=[c.pk for c in dismissed]).update(
        closed_at=timezone.now() - relativedelta(years=11)
    )
    services.legal_hold_place(
        actor=adam, reason="Litigation 3", person_ref=dismissed[0].subject_ref
    )

    for src in registry.sources():
        before = timezone.now() - relativedelta(years=src.default_retention_years)
        assert retention_counts(src, before) == _walk_counts(src, before), src.name
    run = _run(adam)
    assert run.preview["verification.case"] == {"years": 10, "due": 6, "held": 3, "to_destroy": 3}
    assert run.preview["cases.case"] == {"years": 10, "due": 2, "held": 1, "to_destroy": 1}
    services.purge_run_execute(run=run)
    run.refresh_from_db()
    for name, row in run.preview.items():
        assert run.destroyed.get(name, 0) == row["to_destroy"], name
    assert VerificationCase.objects.count() == 4
    assert Case.objects.filter(pk=dismissed[0].pk).exists()  # held by the person hold


def test_a_chunk_that_fails_leaves_everything_as_it_was(adam, routing, acme, findings_history):
    gone = verification_case(acme, ssn="600000031", first="Ida", last="Vega")
    _old(gone)
    f = finding(vcase=gone)
    findings_ingest_all()
    case = _case_of(f)
    shadow = Run.objects.create(owner=adam, mode=RunMode.SHADOW)
    ShadowHit.objects.create(
        run=shadow,
        rule_code="X",
        rule_version=2,
        subject_key=f"case:{gone.pk}",
        evidence_key="n:1",
        severity="high",
        summary="s",
    )
    run = _run(adam)

    def counts() -> dict[str, int]:
        return {
            "vcases": VerificationCase.objects.count(),
            "findings": Finding.objects.count(),
            "cases": Case.objects.count(),
            "links": CaseFinding.objects.count(),
            "hits": ShadowHit.objects.count(),
            "history": RowChange.objects.count(),
            "tombstones": Tombstone.objects.count(),
            "batches": AuditEvent.objects.filter(action="retention.batch_destroyed").count(),
        }

    def refuse(ids: Any) -> dict[str, list[str]]:
        raise RuntimeError("the disk is full")

    before = counts()
    registry.register_derived_purger("verification.case", refuse)
    try:
        with pytest.raises(RuntimeError):
            purge_chunk(run=run, source=registry.source("verification.case"))
    finally:
        registry.unregister_derived_purger("verification.case", refuse)
    assert counts() == before
    run.refresh_from_db()
    assert run.destroyed == {}
    assert Case.objects.filter(pk=case.pk, finding_count=1).exists()


def test_a_finding_cites_its_case_and_every_case_its_evidence_lists():
    from crossref.retention import cited_case_ids

    assert cited_case_ids(7, {"compared": "numident"}) == {7}
    assert cited_case_ids(9, {"case_ids": [3, 9], "window_days": 30}) == {3, 9}
    assert cited_case_ids(5, {"identities": [[1, 2], [5]]}) == {1, 2, 5}
    assert cited_case_ids(None, {"case_id": 4}) == {4}
    assert (
        cited_case_ids(None, {"cases": 120, "hits": 30, "z": 4.1}) == set()
    )  # a rate: counts, no cases
