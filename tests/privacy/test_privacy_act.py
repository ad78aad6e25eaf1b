"""Privacy Act duties: the accounting of disclosures, subject requests, amendment, disagreement, retention."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit import context
from audit.models import AuditEvent
from core.calendar import add_working_days
from core.errors import IllegalTransition
from privacy import registry, services
from privacy.models import (
    AmendmentNotice,
    Disclosure,
    DisclosureBasis,
    Notification,
    PurgeRun,
    RetentionSchedule,
    SubjectRequestStatus,
    Tombstone,
)
from privacy.models.retention import PurgeStatus
from privacy.policy import Decision, decide
from privacy.services.retention import retention_years
from privacy.services.subject_requests import ssn_blind_index
from tests.cases import conftest as cases_fixtures
from tests.privacy.sources import Record
from verification.models import VerificationCase

pytestmark = pytest.mark.django_db

SSN = "123-45-6789"


def _request_id(value: str):
    return context.bind(request_id=value)


def _record(
    source, rid: int, *, person: str = "person:1", years_old: float = 0, ssn: str = SSN
) -> Record:
    return source.add(
        Record(
            id=rid,
            person_ref=person,
            first_name="Maria",
            last_name="Garcia Lopez",
            date_of_birth=date(1990, 4, 2),
            ssn_index=ssn_blind_index(ssn.replace("-", "")),
            created_at=timezone.now() - timedelta(days=int(365.25 * years_old)),
        )
    )


def _disclose(
    user,
    *,
    record_id="1",
    person="person:1",
    category="verification_cases",
    nature="view",
    request_id="r1",
):
    token = _request_id(request_id)
    try:
        decision = decide(user, action="view", category=category)
        return services.disclosure_record(
            actor=user,
            decision=decision,
            category=category,
            record_type="test.records",
            record_id=record_id,
            person_ref=person,
            nature=nature,
            purpose="Employer compliance check",
        )
    finally:
        context.reset(token)


# --- The accounting ------------------------------------------------------------------------------


def test_a_partners_view_is_accounted_once_per_person_per_request(petra, directory):
    _disclose(petra)
    _disclose(petra)  # same request: nothing more
    _disclose(petra, request_id="r2")
    entries = Disclosure.objects.filter(person_ref="person:1")
    assert entries.count() == 2
    entry = entries.first()
    assert entry.accountable
    assert entry.basis == DisclosureBasis.ROUTINE_USE
    assert entry.recipient_agency == directory["twc"]
    assert entry.recipient_agency_address
    assert entry.recipient_username == "petra"
    assert entry.owner_agency == directory["uscis"]
    assert entry.routine_use == "DHS/USCIS-011 routine use H"
    assert entry.agreement_id is not None


def test_a_home_agency_read_is_no_disclosure(alice):
    assert _disclose(alice, category="enforcement") is None
    assert not Disclosure.objects.exists()


def test_within_one_department_the_entry_is_kept_but_not_accountable(alice, directory, adam):
    mou = services.agreement_create(
        actor=adam,
        reference="uscis-ice",
        title="t",
        source_agency=directory["uscis"],
        recipient_agency=directory["ice"],
        purpose="p",
        legal_authority="l",
        scope={"verification_cases": ["view"]},
        effective_on=timezone.localdate(),
        expires_on=timezone.localdate() + timedelta(days=30),
    )
    services.agreement_activate(actor=adam, agreement=mou)
    services.grant_create(actor=adam, user=alice, role="analyst", agreement=mou)
    entry = _disclose(alice)
    assert entry is not None
    assert entry.basis == DisclosureBasis.NEED_TO_KNOW
    assert not entry.accountable


def test_the_accounting_is_append_only(petra):
    _disclose(petra)
    with pytest.raises(DatabaseError), transaction.atomic():
        Disclosure.objects.update(purpose="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        Disclosure.objects.all().delete()
    assert Disclosure.objects.get().purpose == "Employer compliance check"


def test_the_report_to_the_person_leaves_out_law_enforcement_entries(petra, directory):
    _disclose(petra)
    law_enforcement = Decision(
        True, basis="b7", agreement_id=None, owner_agency_id=directory["uscis"].pk, accountable=True
    )
    with transaction.atomic():
        token = _request_id("r-le")
        services.disclosure_record(
            actor=petra,
            decision=law_enforcement,
            category="verification_cases",
            record_type="test.records",
            record_id="1",
            person_ref="person:1",
            nature="export",
            purpose="Investigation 26-001",
        )
        context.reset(token)
    staff = services.disclosure_report(person_refs=["person:1"], for_subject=False)
    to_person = services.disclosure_report(person_refs=["person:1"], for_subject=True)
    assert [d.basis for d in staff] == ["b3", "b7"]
    assert [d.basis for d in to_person] == ["b3"]


def test_the_report_page_prints_the_accounting_and_leaves_out_b7_for_the_person(
    login, adam, petra, directory
):
    _disclose(petra)
    law_enforcement = Decision(
        True, basis="b7", owner_agency_id=directory["uscis"].pk, accountable=True
    )
    services.disclosure_record(
        actor=petra,
        decision=law_enforcement,
        category="verification_cases",
        record_type="test.records",
        record_id="1",
        person_ref="person:1",
        nature="export",
        purpose="Investigation 26-001",
    )
    client = login(adam)
    staff = client.get("/privacy/disclosures/?person=person:1").content.decode()
    person = client.get(
        "/privacy/disclosures/?person=person:1&for_subject=1&format=csv"
    ).content.decode()
    assert "Investigation 26-001" in staff
    assert "Investigation 26-001" not in person
    assert "Employer compliance check" in person
    assert AuditEvent.objects.filter(action="disclosure.report_viewed").count() == 2


# --- Subject access ------------------------------------------------------------------------------


def _access_request(adam, **extra):
    fields = {
        "kind": "access",
        "first_name": "Maria",
        "last_name": "Garcia Lopez",
        "date_of_birth": date(1990, 4, 2),
        "contact_address": "1 Main St, Austin TX",
        "ssn": SSN,
        "identity_evidence": "Notarized statement",
    }
    fields.update(extra)
    return services.subject_request_create(actor=adam, **fields)


def test_intake_finds_the_persons_records_across_the_registry_and_keeps_no_ssn(source, adam):
    _record(source, 1)
    _record(source, 2, ssn="987-65-4321")  # another SSN, but the same name and date of birth
    _record(source, 3, ssn="111-22-3333", person="person:9").last_name = "Other"
    request = _access_request(adam)
    assert sorted((r["record_id"], r["match"]) for r in request.matched_records) == [
        ("1", "ssn"),
        ("2", "name+dob"),
    ]
    assert request.ssn_last4 == "6789"
    assert "123456789" not in str(request.__dict__)


def test_deadlines_count_federal_working_days_and_stop_with_the_clock(adam, source):
    received = date(2026, 11, 20)  # a Friday; Thanksgiving falls inside the window
    request = _access_request(adam, received_on=received)
    assert request.acknowledge_due_on == add_working_days(received, 10) == date(2026, 12, 7)
    services.subject_request_pause(
        actor=adam, request=request, reason="Awaiting proof of identity", on=date(2026, 11, 30)
    )
    request = services.subject_request_resume(actor=adam, request=request, on=date(2026, 12, 3))
    assert request.acknowledge_due_on == add_working_days(received, 13)
    assert request.respond_due_on == add_working_days(received, 33)


def test_the_response_package_holds_the_records_and_the_report_without_b7(
    adam, petra, source, directory
):
    _record(source, 1)
    _disclose(petra)
    services.disclosure_record(
        actor=petra,
        decision=Decision(
            True, basis="b7", owner_agency_id=directory["uscis"].pk, accountable=True
        ),
        category="verification_cases",
        record_type="test.records",
        record_id="1",
        person_ref="person:1",
        nature="export",
        purpose="Investigation 26-001",
    )
    request = _access_request(adam)
    services.subject_request_acknowledge(actor=adam, request=request)
    package = services.subject_request_respond(actor=adam, request=request)
    assert package["records"][0]["data"]["last_name"] == "Garcia Lopez"
    assert [d["purpose"] for d in package["disclosures"]] == ["Employer compliance check"]
    request.refresh_from_db()
    assert request.status == SubjectRequestStatus.RESPONDED


def test_records_are_not_released_before_identity_is_verified(adam, source):
    request = _access_request(adam, identity_evidence="")
    with pytest.raises(IllegalTransition):
        services.subject_request_respond(actor=adam, request=request)


# --- Amendment and disagreement ------------------------------------------------------------------


def _amendment(adam, value="Garcia-Lopez"):
    return services.subject_request_create(
        actor=adam,
        kind="amendment",
        first_name="Maria",
        last_name="Garcia Lopez",
        date_of_birth=date(1990, 4, 2),
        contact_address="1 Main St",
        ssn=SSN,
        amendment_record="test.records:1",
        amendment_field="last_name",
        amendment_value=value,
        amendment_reason="Hyphenated on my passport",
    )


def test_a_granted_amendment_is_applied_and_every_earlier_recipient_is_told(adam, petra, source):
    _record(source, 1)
    _disclose(petra)
    _disclose(petra, request_id="r2")
    request = services.amendment_decide(
        actor=adam, request=_amendment(adam), grant=True, reason="Passport shows the hyphen"
    )
    assert source.records[1].last_name == "Garcia-Lopez"
    assert request.status == SubjectRequestStatus.AMENDED
    notices = AmendmentNotice.objects.filter(request=request)
    assert [n.recipient_agency.code for n in notices] == ["twc"]  # once per agency
    assert Notification.objects.filter(user=petra, title__contains="corrected").exists()


def test_a_refused_amendment_allows_a_statement_of_disagreement_that_travels_with_later_disclosures(
    adam, petra, source
):
    _record(source, 1)
    _disclose(petra)
    request = services.amendment_decide(
        actor=adam, request=_amendment(adam), grant=False, reason="SSA record is authoritative"
    )
    assert source.records[1].last_name == "Garcia Lopez"
    statement = services.disagreement_file(
        actor=adam, request=request, text="My name has a hyphen."
    )
    assert statement.person_ref == "person:1"
    assert Notification.objects.filter(user=petra, title__contains="disputed").exists()
    later = _disclose(petra, request_id="r-later")
    assert later.with_disagreement
    from privacy.selectors import disagreement_for

    assert disagreement_for(record_type="test.records", record_id=1).text == "My name has a hyphen."


def test_a_statement_needs_a_refusal_first(adam, source):
    _record(source, 1)
    with pytest.raises(IllegalTransition):
        services.disagreement_file(actor=adam, request=_amendment(adam), text="No.")


# --- Retention -----------------------------------------------------------------------------------


def test_purge_preview_counts_then_purge_destroys_in_chunks_leaving_tombstones_and_honouring_holds(
    adam, petra, source, settings
):
    settings.PRIVACY_PURGE_CHUNK = 2
    for rid in (1, 2, 3, 4):
        _record(source, rid, person=f"person:{rid}", years_old=11)
    _record(source, 5, person="person:5", years_old=2)
    services.legal_hold_place(actor=adam, reason="Investigation 26-014", person_ref="person:2")

    def open_investigation(name, ids):
        return {"3"} & set(ids)

    registry.register_hold_provider(open_investigation)
    try:
        # an accounting entry about record 1, six years old, goes with it; a recent one about record 4 stays
        with transaction.atomic():
            old = Disclosure.objects.create(
                occurred_at=timezone.now() - relativedelta(years=6),
                nature="view",
                purpose="p",
                category="verification_cases",
                recipient_agency=petra.agency,
                recipient_agency_name="TWC",
                owner_agency=petra.agency,
                basis="b3",
                accountable=True,
                record_type="test.records",
                record_id="1",
                person_ref="person:1",
            )
        _disclose(petra, record_id="4", person="person:4")

        run = services.purge_preview(actor=adam)
        assert run.preview["test.records"] == {"years": 10, "due": 4, "held": 2, "to_destroy": 2}
        assert len(source.records) == 5  # a preview destroys nothing

        services.purge_approve(actor=adam, run=run)
        run.refresh_from_db()
        services.purge_run_execute(run=run)
    finally:
        registry.unregister_hold_provider(open_investigation)
    run.refresh_from_db()
    assert run.status == PurgeStatus.DONE
    assert sorted(source.records) == [2, 3, 5]
    assert sorted(Tombstone.objects.values_list("record_id", flat=True)) == ["1", "4"]
    assert not Disclosure.objects.filter(pk=old.pk).exists()
    assert Disclosure.objects.filter(record_id="4").exists()  # younger than 5 years: kept
    batches = AuditEvent.objects.filter(action="retention.batch_destroyed")
    assert batches.count() == 2  # two chunks of two candidates
    assert sum(b.detail["destroyed"] for b in batches) == 2


def test_a_purge_runs_only_once_approved(adam, source):
    run = services.purge_preview(actor=adam)
    with pytest.raises(IllegalTransition):
        services.purge_run_execute(run=run)
    assert PurgeRun.objects.get(pk=run.pk).status == PurgeStatus.PREVIEWED


def test_verification_records_are_kept_ten_years_by_default(adam):
    """The real verification source (not a test double): with no schedule row, a case is due
    for destruction once it is ten years old, and not a few days before."""
    verification = registry.source("verification.case")
    assert not RetentionSchedule.objects.filter(source=verification.name).exists()
    assert retention_years(verification) == 10
    now = timezone.now()
    acme = cases_fixtures.employer()
    young = cases_fixtures.verification_case(acme, ssn="123456789", first="Ana", last="Ruiz")
    old = cases_fixtures.verification_case(acme, ssn="987654321", first="Bo", last="Lind")
    ten_years_ago = now - relativedelta(years=10)
    VerificationCase.objects.filter(pk=young.pk).update(
        created_at=ten_years_ago + timedelta(days=3)
    )
    VerificationCase.objects.filter(pk=old.pk).update(created_at=ten_years_ago - timedelta(days=3))
    preview = services.purge_preview(actor=adam, at=now).preview[verification.name]
    assert (preview["years"], preview["due"]) == (10, 1)
    assert [r.record_id for r in verification.retention_candidates(before=ten_years_ago)] == [
        str(old.pk)
    ]


def test_earlier_requests_are_records_about_the_person_too(adam):
    first = _access_request(adam)
    second = _access_request(adam)
    assert ("privacy.subject_request", str(first.pk)) in {
        (r["source"], r["record_id"]) for r in second.matched_records
    }
    from privacy import registry as reg

    exported = reg.source("privacy.subject_request").export(str(first.pk))
    assert exported["ssn_last4"] == "6789"
    assert "123456789" not in str(exported)
