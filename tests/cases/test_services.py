"""Services of the cases app: grouping, routing, suppression, triage, the workflow and its gate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from cases import services
from cases.models import Case, CaseStatus, Closure, Notification, RoutingRule, Suppression
from cases.services import findings_ingest_all
from core.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from crossref.models import Finding
from privacy.models import Role
from tests.cases.conftest import employer, finding, verification_case
from tests.factories import UserFactory
from tests.pdftext import pdf_text
from verification.models import VerificationCase

pytestmark = pytest.mark.django_db


# --- Grouping and routing --------------------------------------------------------------------------


def test_findings_about_one_person_make_one_case(routing, acme):
    first = verification_case(acme, ssn="123456789", first="Ana", last="Garcia")
    other_job = verification_case(
        employer(name="Beta Farms"), ssn="123456789", first="Ana", last="Garcia"
    )
    finding(vcase=first, rule="ssa.name_mismatch")
    finding(vcase=other_job, rule="ssn.velocity", family="ssn", severity="medium")

    assert findings_ingest_all() == 2
    case = Case.objects.get()
    assert case.finding_count == 2
    assert sorted(case.rule_codes) == ["ssa.name_mismatch", "ssn.velocity"]
    assert case.subject_last4 == "6789"
    assert case.routed_unit == routing.unit
    assert case.status == CaseStatus.FLAGGED
    assert not Finding.objects.filter(ingested_at__isnull=True).exists()


def test_a_new_finding_joins_the_open_case_as_new_evidence(make_case):
    case = make_case(ssn="222334444")
    vc = verification_case(employer(name="Gamma"), ssn="222334444", first="Ana", last="Garcia")
    later = finding(vcase=vc, rule="dhs.document_mismatch", family="identity_dhs")
    findings_ingest_all()
    case.refresh_from_db()
    assert case.has_new_evidence
    assert case.case_findings.get(finding=later).is_new
    assert Case.objects.count() == 1
    assert case.events.filter(kind="new_evidence").exists()


def test_a_false_positive_is_not_reopened_by_the_same_evidence(make_case, alice):
    case = make_case(ssn="333445555")
    original = case.case_findings.get().finding
    services.case_dismiss(actor=alice, case=case, reason="name_variant")
    # The same rule on the same evidence again (a re-run under a new rule version, say).
    again = Finding.objects.create(
        rule_code=original.rule_code,
        rule_version=2,
        family=original.family,
        severity="high",
        subject_type="worker",
        subject_key=original.subject_key + ":v2",
        evidence_key=original.evidence_key,
        case_id=original.case_id,
        employer_id=original.employer_id,
        ssn_index=original.ssn_index,
        fields=original.fields,
        score=0.9,
        summary="again",
    )
    findings_ingest_all()
    assert Case.objects.count() == 1
    again.refresh_from_db()
    assert again.ingested_at is not None
    assert not hasattr(again, "case_link") or again.case_link is None


def test_new_evidence_after_a_dismissal_opens_a_new_case(make_case, alice, acme):
    case = make_case(ssn="444556666")
    services.case_dismiss(actor=alice, case=case, reason="clerical")
    vc = verification_case(acme, ssn="444556666", first="Ana", last="Garcia")
    finding(vcase=vc, rule="ssa.deceased", evidence="numident:other")
    findings_ingest_all()
    assert Case.objects.count() == 2
    assert Case.objects.exclude(pk=case.pk).get().status == CaseStatus.FLAGGED


def test_routing_prefers_family_and_state_over_the_catch_all(routing, directory, acme):
    RoutingRule.objects.create(rule_family="employer", state="TX", unit=directory["unit_b"])
    finding(
        subject_type="employer",
        employer_id=acme.pk,
        rule="employer.late_cases",
        family="employer",
        severity="medium",
    )
    findings_ingest_all()
    case = Case.objects.get()
    assert case.routed_unit == directory["unit_b"]
    assert case.kind == "employer_compliance"
    assert case.subject_key == f"employer:{acme.pk}"


def test_sla_due_date_counts_federal_working_days_by_severity(make_case, settings):
    from core.calendar import add_working_days

    case = make_case(severity="high")
    assert case.due_date == add_working_days(
        timezone.localdate(), settings.CASES_SLA_WORKING_DAYS["high"]
    )
    low = make_case(severity="low", clerical=True, score=0.5)
    assert low.due_date == add_working_days(
        timezone.localdate(), settings.CASES_SLA_WORKING_DAYS["low"]
    )
    assert low.priority == 4
    assert case.priority == 1


# --- Suppression -------------------------------------------------------------------------------------


def test_a_snooze_hides_the_case_until_its_date_and_ends_by_itself(make_case, alice):
    from cases.selectors import QueueFilters, queue_page

    case = make_case()
    until = timezone.localdate() + timedelta(days=5)
    services.case_snooze(
        actor=alice, case=case, until=until, reason="waiting for SSA record update"
    )
    assert Suppression.objects.get().until == until
    assert AuditEvent.objects.filter(action="cases.snoozed", case_id=case.pk).exists()
    today = timezone.localdate()
    assert queue_page(user=alice, filters=QueueFilters(), today=today).cases == []
    assert [
        c.pk
        for c in queue_page(
            user=alice, filters=QueueFilters(), today=until + timedelta(days=1)
        ).cases
    ] == [case.pk]


def test_a_snooze_needs_a_reason_and_a_future_date(make_case, alice):
    case = make_case()
    with pytest.raises(ValidationFailed):
        services.case_snooze(actor=alice, case=case, until=timezone.localdate(), reason="x")
    with pytest.raises(ValidationFailed):
        services.case_snooze(
            actor=alice, case=case, until=timezone.localdate() + timedelta(days=3), reason=" "
        )


def test_findings_about_a_snoozed_subject_open_a_snoozed_case(routing, acme, alice):
    vc = verification_case(acme, ssn="555667777", first="Li", last="Wei")
    until = timezone.localdate() + timedelta(days=10)
    Suppression.objects.create(
        subject_key=f"ssn:{vc.ssn_bidx}", until=until, reason="known", created_by=alice
    )
    finding(vcase=vc)
    findings_ingest_all()
    assert Case.objects.get().snoozed_until == until


# --- Access --------------------------------------------------------------------------------------------


def test_flagged_cases_are_visible_to_the_routed_unit_only(make_case, alice, bob, sam, audrey):
    case = make_case()
    assert Case.objects.visible_to(alice).filter(pk=case.pk).exists()
    assert Case.objects.visible_to(sam).filter(pk=case.pk).exists()
    assert not Case.objects.visible_to(bob).filter(pk=case.pk).exists()
    assert not Case.objects.visible_to(audrey).exists()


def test_an_investigation_is_visible_to_its_members_only(make_case, alice, directory):
    colleague = UserFactory(username="carol", unit=directory["unit_a"], roles=[Role.ANALYST])
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    assert Case.objects.visible_to(alice).filter(pk=case.pk).exists()
    assert not Case.objects.visible_to(colleague).filter(pk=case.pk).exists()
    services.case_member_add(actor=alice, case=case, user=colleague)
    assert Case.objects.visible_to(colleague).filter(pk=case.pk).exists()
    services.case_member_remove(actor=alice, case=case, user=colleague)
    assert not Case.objects.visible_to(colleague).filter(pk=case.pk).exists()


def test_a_user_of_another_unit_cannot_act_on_a_case(make_case, bob):
    case = make_case()
    with pytest.raises(NotFound):
        services.case_dismiss(actor=bob, case=case, reason="clerical")


# --- Triage -------------------------------------------------------------------------------------------


def test_dismissal_feeds_the_rule_quality_counts(make_case, alice):
    case = make_case()
    services.case_dismiss(actor=alice, case=case, reason="name_variant", note="hyphenated surname")
    case.refresh_from_db()
    assert (case.status, case.closure, case.dismiss_reason) == (
        CaseStatus.CLOSED,
        Closure.FALSE_POSITIVE,
        "name_variant",
    )
    assert case.case_findings.get().finding.disposition == "dismissed"
    with pytest.raises(ValidationFailed):
        services.case_dismiss(actor=alice, case=make_case(), reason="because")


def test_bulk_dismiss_is_one_audited_operation_naming_everyone(make_case, alice):
    cases = [make_case() for _ in range(3)]
    before = AuditEvent.objects.filter(action="cases.bulk_dismiss").count()
    services.cases_bulk_apply(
        actor=alice, action="dismiss", case_ids=[c.pk for c in cases], params={"reason": "clerical"}
    )
    event = AuditEvent.objects.filter(action="cases.bulk_dismiss").latest("id")
    assert AuditEvent.objects.filter(action="cases.bulk_dismiss").count() == before + 1
    assert sorted(event.subjects) == sorted(c.subject_ref for c in cases)
    assert Case.objects.filter(closure=Closure.FALSE_POSITIVE).count() == 3


def test_bulk_is_all_or_nothing(make_case, alice, bob):
    mine = make_case()
    services.case_open_investigation(actor=alice, case=mine)
    other = make_case()
    with pytest.raises(IllegalTransition):
        services.cases_bulk_apply(
            actor=alice,
            action="dismiss",
            case_ids=[other.pk, mine.pk],
            params={"reason": "clerical"},
        )
    other.refresh_from_db()
    assert other.status == CaseStatus.FLAGGED
    with pytest.raises(NotFound):
        services.cases_bulk_apply(
            actor=bob, action="tag", case_ids=[other.pk], params={"add": ["x"]}
        )


def test_bulk_assign_tag_snooze_and_merge(make_case, alice, sam):
    a, b, c = make_case(), make_case(), make_case()
    services.cases_bulk_apply(
        actor=alice, action="assign", case_ids=[a.pk, b.pk], params={"assignee": sam}
    )
    assert set(Case.objects.filter(assignee=sam).values_list("pk", flat=True)) == {a.pk, b.pk}
    assert Notification.objects.filter(user=sam, kind="assignment").count() == 2
    services.cases_bulk_apply(
        actor=alice, action="tag", case_ids=[a.pk], params={"add": ["payroll", "tx"]}
    )
    assert Case.objects.get(pk=a.pk).tags == ["payroll", "tx"]
    services.cases_bulk_apply(
        actor=alice, action="merge", case_ids=[b.pk, c.pk], params={"into": a.pk}
    )
    a.refresh_from_db()
    assert a.finding_count == 3
    assert Case.objects.get(pk=b.pk).closure == Closure.MERGED
    services.cases_bulk_apply(
        actor=alice,
        action="snooze",
        case_ids=[a.pk],
        params={"until": timezone.localdate() + timedelta(days=2), "reason": "wait"},
    )
    assert Case.objects.get(pk=a.pk).snoozed_until is not None


def test_round_robin_respects_the_cap(make_case, alice, directory, settings):
    settings.CASES_ANALYST_CAP = 1
    carol = UserFactory(username="carol", unit=directory["unit_a"], roles=[Role.ANALYST])
    first, second, third = make_case(), make_case(), make_case()
    picked = {
        services.case_assign_round_robin(actor=alice, case=first).assignee,
        services.case_assign_round_robin(actor=alice, case=second).assignee,
    }
    assert picked == {alice, carol}
    with pytest.raises(ValidationFailed):
        services.case_assign_round_robin(actor=alice, case=third)


def test_assignment_sends_an_email_after_commit(
    make_case, alice, sam, django_capture_on_commit_callbacks
):
    case = make_case()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_assign(actor=alice, case=case, assignee=sam)
    assert mail.outbox
    assert sam.email in mail.outbox[0].to
    # No identifiers in the mail: apart from its links, no digit but the case number's.
    text = re.sub(r"https?://\S+", "", mail.outbox[0].body).replace(case.number, "")
    assert not re.search(r"\d", text)


def test_reminders_go_out_once(make_case, alice):
    case = make_case()
    services.case_assign(actor=alice, case=case, assignee=alice)
    Case.objects.filter(pk=case.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    assert services.reminders_send()["overdue"] == 1
    assert services.reminders_send()["overdue"] == 0


def test_evidence_is_hashed_and_starts_its_custody_chain(make_case, alice):
    import hashlib

    case = make_case()
    data = b"<script>alert(1)</script>"
    evidence = services.evidence_add(
        actor=alice, case=case, upload=SimpleUploadedFile("x.html", data, content_type="text/html")
    )
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.custody.get().action == "added"
    services.evidence_download_record(actor=alice, evidence=evidence)
    assert list(evidence.custody.values_list("action", flat=True)) == ["added", "downloaded"]


# --- The investigation workflow and the due-process gate ---------------------------------------------


@pytest.fixture
def verifier(directory):
    return UserFactory(username="vic", unit=directory["unit_a"], roles=[Role.ANALYST])


def _to_contest_window(case, agent, verifier, delivered_days_ago=31):
    services.case_open_investigation(actor=agent, case=case)
    services.case_member_add(actor=agent, case=case, user=verifier)
    services.case_request_verification(actor=agent, case=case)
    services.case_verify_match(actor=verifier, case=case, note="Checked the SSA record by phone.")
    services.case_notice_issue(actor=agent, case=case)
    delivered = timezone.localdate() - timedelta(days=delivered_days_ago)
    Case.objects.filter(pk=case.pk).update(
        notice_issued_at=timezone.now() - timedelta(days=delivered_days_ago + 1)
    )
    return services.case_notice_delivered(
        actor=agent, case=case, method="certified_mail", delivered_on=delivered
    )


def test_every_workflow_transition_in_order(make_case, alice, sam, verifier):
    case = make_case()
    case = services.case_assign(actor=alice, case=case, assignee=alice)
    assert case.status == CaseStatus.IN_TRIAGE
    case = services.case_open_investigation(actor=alice, case=case)
    assert (case.status, case.case_agent, case.supervisor) == (CaseStatus.INVESTIGATING, alice, sam)
    services.case_member_add(actor=alice, case=case, user=verifier)
    case = services.case_request_verification(actor=alice, case=case)
    assert case.status == CaseStatus.PENDING_VERIFICATION
    case = services.case_verify_match(actor=verifier, case=case, note="Called SSA")
    case = services.case_notice_issue(actor=alice, case=case)
    assert case.status == CaseStatus.NOTICE_ISSUED
    notice = case.evidence.get(kind="notice")
    assert (notice.declared_type, notice.original_name) == (
        "application/pdf",
        f"notice-{case.number}-en.pdf",
    )
    assert case.number in pdf_text(notice.file.read())
    case = services.case_notice_delivered(
        actor=alice, case=case, method="mail", delivered_on=timezone.localdate()
    )
    assert case.status == CaseStatus.CONTEST_WINDOW
    assert case.contest_deadline == timezone.localdate() + timedelta(days=30)
    case = services.case_contest_receive(actor=alice, case=case, note="The person wrote in")
    assert Notification.objects.filter(user=sam, kind="contest").exists()
    case = services.case_contest_decide(actor=sam, case=case, outcome="upheld")
    case = services.case_disposition_propose(
        actor=alice, case=case, closure=Closure.ADMINISTRATIVE_ACTION
    )
    case = services.case_disposition_sign_off(actor=sam, case=case)
    assert (case.status, case.closure, case.signed_off_by) == (
        CaseStatus.CLOSED,
        Closure.ADMINISTRATIVE_ACTION,
        sam,
    )
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[-1] == "closed"
    assert {"verified", "notice_delivered"} <= set(kinds)


def test_gate_refuses_an_adverse_disposition_before_verification(make_case, alice):
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    with pytest.raises(IllegalTransition):
        services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)
    services.case_request_verification(actor=alice, case=case)
    with pytest.raises(IllegalTransition):
        services.case_notice_issue(actor=alice, case=case)


def test_gate_refuses_self_verification(make_case, alice):
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    services.case_request_verification(actor=alice, case=case)
    with pytest.raises(Forbidden):
        services.case_verify_match(actor=alice, case=case, note="I checked my own work")


def test_gate_refuses_before_the_contest_window_ends(make_case, alice, verifier):
    case = _to_contest_window(make_case(), alice, verifier, delivered_days_ago=5)
    with pytest.raises(IllegalTransition, match="contest window"):
        services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)
    assert AuditEvent.objects.filter(action="cases.gate_refused", case_id=case.pk).exists()


def test_gate_refuses_while_a_contest_is_undecided(make_case, alice, verifier):
    case = _to_contest_window(make_case(), alice, verifier, delivered_days_ago=40)
    services.case_contest_receive(actor=alice, case=case)
    with pytest.raises(IllegalTransition, match="contest has not been decided"):
        services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)


def test_gate_refuses_when_the_contest_overturned_the_match(make_case, alice, sam, verifier):
    case = _to_contest_window(make_case(), alice, verifier, delivered_days_ago=40)
    services.case_contest_receive(actor=alice, case=case)
    services.case_contest_decide(actor=sam, case=case, outcome="overturned")
    with pytest.raises(IllegalTransition, match="overturned"):
        services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)


def test_gate_refuses_the_verifier_as_proposer(make_case, alice, verifier):
    case = _to_contest_window(make_case(), alice, verifier)
    with pytest.raises(IllegalTransition, match="verifier"):
        services.case_disposition_propose(actor=verifier, case=case, closure=Closure.REFERRAL)


def test_sign_off_needs_a_supervisor_other_than_the_proposer(
    make_case, alice, sam, verifier, directory
):
    case = _to_contest_window(make_case(), alice, verifier)
    services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)
    with pytest.raises(Forbidden):
        services.case_disposition_sign_off(actor=alice, case=case)
    with pytest.raises(Forbidden):
        services.case_disposition_sign_off(actor=verifier, case=case)
    case = services.case_disposition_sign_off(actor=sam, case=case, approve=False)
    assert case.proposed_closure == ""
    assert case.status == CaseStatus.CONTEST_WINDOW
    services.case_disposition_propose(actor=alice, case=case, closure=Closure.REFERRAL)
    case = services.case_disposition_sign_off(actor=sam, case=case)
    assert case.closure == Closure.REFERRAL


def test_adverse_dispositions_cannot_be_closed_directly(make_case, alice):
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    with pytest.raises(IllegalTransition):
        services.case_close(actor=alice, case=case, closure=Closure.REFERRAL)
    case = services.case_close(actor=alice, case=case, closure=Closure.NO_VIOLATION)
    assert case.closure == Closure.NO_VIOLATION


def test_illegal_transitions_are_refused(make_case, alice):
    case = make_case()
    with pytest.raises(IllegalTransition):
        services.case_request_verification(actor=alice, case=case)
    with pytest.raises(IllegalTransition):
        services.case_notice_delivered(
            actor=alice, case=case, method="mail", delivered_on=timezone.localdate()
        )
    with pytest.raises(IllegalTransition):
        services.case_contest_receive(actor=alice, case=case)
    services.case_dismiss(actor=alice, case=case, reason="clerical")
    with pytest.raises(IllegalTransition):
        services.case_open_investigation(actor=alice, case=case)


def test_employer_cases_climb_the_ladder_one_rung_at_a_time(routing, acme, alice):
    finding(
        subject_type="employer",
        employer_id=acme.pk,
        rule="employer.idle_tnc",
        family="employer",
        severity="medium",
    )
    findings_ingest_all()
    case = services.case_open_investigation(actor=alice, case=Case.objects.get())
    assert case.escalation == "contact"
    for rung in ["monitoring", "desk_review", "site_visit", "referral"]:
        case = services.case_escalate(actor=alice, case=case)
        assert case.escalation == rung
    with pytest.raises(IllegalTransition):
        services.case_escalate(actor=alice, case=case)


def test_handoff_needs_an_agreement(make_case, alice, directory):
    case = make_case()
    with pytest.raises(Forbidden):
        services.case_handoff(
            actor=alice, case=case, to_unit=directory["twc_unit"], agreement_id=None
        )
    with pytest.raises(ValidationFailed):
        services.case_handoff(actor=alice, case=case, to_unit=directory["unit_b"], agreement_id=1)


# --- Privacy registry ----------------------------------------------------------------------------------


def test_open_investigations_hold_the_records_they_cite(make_case, alice):
    from cases.holds import open_investigation_holds
    from privacy import registry

    case = make_case()
    vcase_id = str(case.case_findings.get().finding.case_id)
    assert (
        open_investigation_holds("verification.case", [vcase_id]) == set()
    )  # a flagged case holds nothing yet
    services.case_open_investigation(actor=alice, case=case)
    assert open_investigation_holds("verification.case", [vcase_id, "999999"]) == {vcase_id}
    assert registry.source("cases.case").find(registry.PersonQuery(ssn_index=case.subject_key[4:]))[
        0
    ].record_id == str(case.pk)


def test_the_cases_source_purges_closed_cases_with_their_evidence(make_case, alice):
    from privacy import registry

    case = make_case()
    services.evidence_add(actor=alice, case=case, upload=SimpleUploadedFile("a.txt", b"x"))
    services.case_dismiss(actor=alice, case=case, reason="clerical")
    source = registry.source("cases.case")
    later = timezone.now() + timedelta(days=1)
    assert [r.record_id for r in source.retention_candidates(before=later)] == [str(case.pk)]
    assert source.purge([str(case.pk)]) == 1
    assert not Case.objects.filter(pk=case.pk).exists()


def test_handoff_under_an_agreement_moves_ownership_and_access(make_case, alice, directory):
    from privacy.models import Agreement

    receiver = UserFactory(username="tess", unit=directory["twc_unit"], roles=[Role.SUPERVISOR])
    today = timezone.localdate()
    agreement = Agreement.objects.create(
        reference="mou-ice-twc",
        title="ICE to TWC",
        kind="mou",
        source_agency=directory["ice"],
        recipient_agency=directory["twc"],
        purpose="Labor law referrals",
        legal_authority="8 U.S.C. 1324a",
        scope={"investigations": ["receive_handoff", "view"]},
        effective_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=100),
        status="active",
    )
    case = make_case()
    services.case_open_investigation(actor=alice, case=case)
    case = services.case_handoff(
        actor=alice, case=case, to_unit=directory["twc_unit"], agreement_id=agreement.pk
    )
    assert case.owning_agency == directory["twc"]
    assert Case.objects.visible_to(receiver).filter(pk=case.pk).exists()
    assert not Case.objects.visible_to(alice).filter(pk=case.pk).exists()
    assert Notification.objects.filter(user=receiver, kind="handoff").exists()


def test_an_investigation_is_not_handed_to_a_unit_with_nobody_to_receive_it(
    make_case, alice, directory
):
    from privacy.models import Agreement

    today = timezone.localdate()
    agreement = Agreement.objects.create(
        reference="mou-ice-twc",
        title="ICE to TWC",
        kind="mou",
        source_agency=directory["ice"],
        recipient_agency=directory["twc"],
        purpose="Labor law referrals",
        legal_authority="8 U.S.C. 1324a",
        scope={"investigations": ["receive_handoff", "view"]},
        effective_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=100),
        status="active",
    )
    UserFactory(
        username="tara", unit=directory["twc_unit"], roles=[Role.ANALYST]
    )  # no supervisor there
    case = services.case_open_investigation(actor=alice, case=make_case())
    with pytest.raises(ValidationFailed):
        services.case_handoff(
            actor=alice, case=case, to_unit=directory["twc_unit"], agreement_id=agreement.pk
        )
    case.refresh_from_db()
    assert case.owning_agency == directory["ice"]
    assert Case.objects.visible_to(alice).filter(pk=case.pk).exists()


def test_the_audit_outside_assignment_rule_knows_who_is_assigned_to_whom(make_case, alice, bob):
    from audit.anomalies import flags_for
    from audit.services import event_record

    case = make_case()
    worker = (
        VerificationCase.objects.filter(ssn_bidx=case.subject_key.removeprefix("ssn:"))
        .first()
        .worker
    )
    stranger = "ssn:" + "f" * 64
    start = timezone.now() - timedelta(minutes=1)
    event_record(
        action="cases.case_viewed", actor=alice, subjects=[case.subject_ref, f"worker:{worker.pk}"]
    )
    event_record(action="cases.case_viewed", actor=alice, subjects=[stranger])
    event_record(action="cases.case_viewed", actor=bob, subjects=[case.subject_ref])
    flags = flags_for(
        start=start, end=timezone.now() + timedelta(minutes=1), rules=["outside_assignment"]
    )
    flagged = {
        (
            f.username,
            tuple(sorted(s for s in f.explanation.split(": ", 1)[1].rstrip(".").split(", "))),
        )
        for f in flags
    }
    # Alice works the case through her unit's queue; the stranger and Bob's read (another unit) are outside.
    assert flagged == {("alice", (stranger,)), ("bob", (case.subject_ref,))}


@pytest.mark.parametrize(
    "text",
    [
        "SSN 573-19-4826 per the caller",
        "SSN 573194826",
        "A-Number A208461937",
        "passport ZQ4H81K27 seen",
        "document EAD0001234",
        "passport X1234567",
    ],
)
def test_notes_and_reasons_naming_a_full_identifier_are_refused(make_case, alice, text):
    case = make_case()
    with pytest.raises(ValidationFailed) as exc:
        services.case_note_add(actor=alice, case=case, body=text)
    assert "body" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        services.case_dismiss(actor=alice, case=case, reason="clerical", note=text)
    assert "note" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        services.case_snooze(
            actor=alice, case=case, until=timezone.localdate() + timedelta(days=3), reason=text
        )
    assert "reason" in exc.value.field_errors
    case.refresh_from_db()
    assert case.status == CaseStatus.FLAGGED  # nothing of the refused steps was kept
    assert case.snoozed_until is None
    assert not case.notes.exists()
    assert text not in str(list(case.events.values_list("data", flat=True)))


@pytest.mark.parametrize(
    "text",
    [
        "Caller confirmed the last four, 4826.",
        "Due 2026-03-14; form I-9 and W-2 seen",
        "2026Q1 review",
    ],
)
def test_ordinary_notes_are_kept(make_case, alice, text):
    case = make_case()
    services.case_note_add(actor=alice, case=case, body=text)
    assert case.notes.get().body == text
