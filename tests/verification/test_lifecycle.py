"""Every lifecycle transition, allowed and refused, set up with the real services."""

from datetime import date, timedelta

import pytest
import time_machine

from core.errors import IllegalTransition, ValidationFailed
from tests.verification.conftest import create, i9, referred, tnc
from verification import lifecycle, services
from verification.models import CaseStatus, ClosureCode, TncSource
from verification.services.sweeps import deadlines_sweep

pytestmark = pytest.mark.django_db
S = CaseStatus


@pytest.fixture
def dhs_expired(load_ref):
    return load_ref(
        "dhs",
        [
            {
                "a_number": "022222222",
                "first_name": "Li",
                "last_name": "Wei",
                "date_of_birth": "1988-07-01",
                "class_of_admission": "H1B",
                "work_authorized_from": "2019-01-01",
                "work_authorized_until": "2020-01-01",
            }
        ],
    )


def make(status, employer, vera, dhs=False):
    """A case in `status`, reached through the services."""
    if status == S.DRAFT:
        return create(employer, submit=False)
    if status == S.EMPLOYMENT_AUTHORIZED:
        return create(
            employer, first_name="Marja", last_name="Garsya Lopes"
        )  # both names near: a name review keeps it open
    if status == S.NEEDS_MORE_TIME:
        return create(
            employer,
            ssn="567-89-0123",
            first_name="Nadia",
            last_name="Haddad",
            date_of_birth=date(1992, 2, 20),
        )
    if status == S.TENTATIVE_NONCONFIRMATION:
        return tnc(employer)
    if status == S.REFERRED:
        return referred(employer)
    if status == S.CASE_IN_CONTINUANCE:
        return services.case_resolve(actor=vera, case=referred(employer), resolution="continuance")
    if status == S.CLOSE_AND_RESUBMIT:
        return services.case_resolve(
            actor=vera, case=referred(employer), resolution="close_and_resubmit"
        )
    if status == S.FINAL_NONCONFIRMATION:
        case = tnc(employer)
        services.case_fan_issue(actor=None, case=case)
        return services.case_decide(actor=None, case=case, decision="no_action")
    if status == S.DHS_NO_SHOW:
        case = create(
            employer,
            ssn="678-90-1234",
            first_name="Li",
            last_name="Wei",
            date_of_birth=date(1988, 7, 1),
            citizenship_status="authorized_alien",
            a_number="22222222",
            document_type="employment_authorization",
            document_number="EAD77777",
            document_expires_on=date.today() + timedelta(days=100),
        )
        assert case.tnc_source == TncSource.DHS
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="take_action")
        services.case_refer(actor=None, case=case)
        with time_machine.travel(date.today() + timedelta(days=30)):
            return services.case_no_show(actor=None, case=case)
    if status == S.CLOSED:
        return create(employer)
    raise AssertionError(status)


@pytest.mark.parametrize("status", S.values)
def test_every_status_is_reachable(employer, ssa, dhs_expired, vera, status):
    assert make(status, employer, vera).status == status


ACTIONS = {
    "submit": lambda case, vera: services.case_submit(actor=None, case=case),
    "issue_fan": lambda case, vera: services.case_fan_issue(actor=None, case=case),
    "decide": lambda case, vera: services.case_decide(
        actor=None, case=case, decision="take_action"
    ),
    "refer": lambda case, vera: services.case_refer(actor=None, case=case),
    "record_contact": lambda case, vera: services.case_contact_record(actor=vera, case=case),
    "resolve": lambda case, vera: services.case_resolve(
        actor=vera, case=case, resolution="confirmed"
    ),
    "no_show": lambda case, vera: services.case_no_show(actor=None, case=case),
    "auto_close_draft": lambda case, vera: services.case_auto_close_draft(actor=None, case=case),
    "auto_close_no_decision": lambda case, vera: services.case_auto_close_no_decision(
        actor=None, case=case
    ),
    "escalate_continuance": lambda case, vera: services.case_escalate_continuance(
        actor=None, case=case
    ),
    "close": lambda case, vera: services.case_close(
        actor=None, case=case, code="other", text="Testing"
    ),
}


@pytest.mark.parametrize(
    ("action", "status"),
    [(a, s) for a in ACTIONS for s in S.values if s not in lifecycle.ALLOWED[a]],
)
def test_actions_are_refused_from_statuses_the_lifecycle_does_not_allow(
    employer, ssa, dhs_expired, vera, action, status
):
    case = make(status, employer, vera)
    with pytest.raises(IllegalTransition):
        ACTIONS[action](case, vera)


def test_submit_moves_a_draft_to_its_instant_result(employer, ssa):
    case = create(employer, submit=False)
    assert services.case_submit(actor=None, case=case).result == S.EMPLOYMENT_AUTHORIZED


def test_a_decision_needs_the_further_action_notice_first(employer, ssa):
    case = tnc(employer)
    with pytest.raises(ValidationFailed):
        services.case_decide(actor=None, case=case, decision="take_action")


def test_refer_needs_the_decision_to_take_action(employer, ssa):
    case = tnc(employer)
    services.case_fan_issue(actor=None, case=case)
    with pytest.raises(ValidationFailed):
        services.case_refer(actor=None, case=case)


def test_no_action_makes_the_mismatch_final(employer, ssa, vera):
    assert make(S.FINAL_NONCONFIRMATION, employer, vera).status == S.FINAL_NONCONFIRMATION


@pytest.mark.parametrize(
    ("start", "resolution", "target"),
    [(s, r, t) for r, (starts, t) in lifecycle.RESOLUTIONS.items() for s in sorted(starts)],
)
def test_each_resolution_from_each_allowed_status(
    employer, ssa, dhs_expired, vera, start, resolution, target
):
    case = make(start, employer, vera)
    case = services.case_resolve(
        actor=vera, case=case, resolution=resolution, note="Record checked and corrected"
    )
    if target == S.EMPLOYMENT_AUTHORIZED:
        assert case.status == S.CLOSED
        assert case.result == S.EMPLOYMENT_AUTHORIZED
    else:
        assert case.status == target
    assert case.resolved_by == vera


@pytest.mark.parametrize(
    ("start", "resolution"),
    [
        (s, r)
        for r, (starts, _) in lifecycle.RESOLUTIONS.items()
        for s in sorted(lifecycle.ALLOWED["resolve"] - starts)
    ],
)
def test_resolutions_refused_from_other_statuses(
    employer, ssa, dhs_expired, vera, start, resolution
):
    with pytest.raises(IllegalTransition):
        services.case_resolve(
            actor=vera, case=make(start, employer, vera), resolution=resolution, note="x"
        )


@pytest.mark.parametrize(
    ("code", "status"),
    [(c, s) for c, froms in lifecycle.CLOSURE_FROM.items() for s in sorted(froms)],
)
def test_each_closure_code_from_each_allowed_status(employer, ssa, dhs_expired, vera, code, status):
    case = services.case_close(
        actor=None, case=make(status, employer, vera), code=code, text="Explained without numbers"
    )
    assert case.status == S.CLOSED
    assert case.closure_code == code
    assert case.result == status


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (c, s)
        for c, froms in lifecycle.CLOSURE_FROM.items()
        for s in sorted(lifecycle.ALLOWED["close"] - froms)
    ],
)
def test_closure_codes_refused_from_other_statuses(employer, ssa, dhs_expired, vera, code, status):
    with pytest.raises(IllegalTransition):
        services.case_close(
            actor=None, case=make(status, employer, vera), code=code, text="Explained"
        )


@pytest.mark.parametrize("code", sorted(lifecycle.SYSTEM_CLOSURE_CODES))
def test_system_closure_codes_cannot_be_chosen(employer, ssa, code):
    with pytest.raises(ValidationFailed):
        services.case_close(actor=None, case=tnc(employer), code=code)


@pytest.mark.parametrize(
    "text",
    [
        "SSN 521-87-4390 given by mistake",
        "A-Number A012345678",
        "521874390",
        "his number is 521 87 4390",
    ],
)
def test_closure_text_with_an_identifier_is_refused(employer, ssa, text):
    with pytest.raises(ValidationFailed) as exc:
        services.case_close(actor=None, case=tnc(employer), code="other", text=text)
    assert "text" in exc.value.field_errors


def test_other_needs_text(employer, ssa):
    with pytest.raises(ValidationFailed):
        services.case_close(actor=None, case=tnc(employer), code="other", text="  ")


# --- Deadlines ----------------------------------------------------------------------------------


def test_referral_contact_deadline_counts_federal_working_days_over_thanksgiving(
    employer, ssa, settings
):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    assert case.referred_on == date(2026, 11, 25)
    assert case.contact_due_on == date(
        2026, 12, 8
    )  # 8 working days; Thanksgiving and weekends skipped


def test_the_referral_window_is_a_setting(employer, ssa, settings):
    settings.REFERRAL_CONTACT_WORKING_DAYS = 10
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    assert case.contact_due_on == date(2026, 12, 10)


def test_decision_deadline_skips_new_year(employer, ssa):
    with time_machine.travel("2026-12-31 15:00Z"):
        case = tnc(employer)
    assert case.decision_due_on == date(2027, 1, 15)


def test_late_creation_after_the_third_business_day_needs_a_reason(employer, ssa):
    hire = date(2026, 12, 18)  # a Friday; Christmas is on the following Friday
    with time_machine.travel("2026-12-23 15:00Z"):
        create(
            employer,
            hire_date=hire,
            i9_completed_on=hire,
            offer_accepted_on=hire - timedelta(days=7),
        )
    with time_machine.travel("2026-12-24 15:00Z"):
        with pytest.raises(ValidationFailed) as exc:
            create(
                employer,
                hire_date=hire,
                i9_completed_on=hire,
                offer_accepted_on=hire - timedelta(days=7),
            )
        assert "late_reason" in exc.value.field_errors
        case = create(
            employer,
            hire_date=hire,
            i9_completed_on=hire,
            offer_accepted_on=hire - timedelta(days=7),
            late_reason="technical_problems",
        )
    assert case.late_reason == "technical_problems"


def test_a_case_before_the_hire_date_is_accepted_once_the_offer_is_accepted(employer, ssa):
    case = create(employer, hire_date=date.today() + timedelta(days=20))
    assert case.result == S.EMPLOYMENT_AUTHORIZED


def test_a_duplicate_within_365_days_needs_a_coded_reason(employer, ssa):
    first = services.case_create(actor=None, employer=employer, data=i9())
    with pytest.raises(ValidationFailed) as exc:
        services.case_create(actor=None, employer=employer, data=i9())
    assert str(first.pk) in exc.value.field_errors["duplicate_reason"][0]
    second = services.case_create(
        actor=None, employer=employer, data=i9(duplicate_reason="incorrect_data")
    )
    assert second.duplicate_of == first


def test_a_case_after_365_days_is_no_duplicate(employer, ssa):
    with time_machine.travel(date.today() - timedelta(days=400)):
        services.case_create(actor=None, employer=employer, data=i9())
    assert services.case_create(actor=None, employer=employer, data=i9()).duplicate_of is None


def test_the_same_ssn_at_another_employer_is_no_duplicate(employer, other_employer, ssa):
    first = services.case_create(actor=None, employer=employer, data=i9())
    second = services.case_create(actor=None, employer=other_employer, data=i9())
    assert second.pk != first.pk
    assert (second.duplicate_of_id, second.duplicate_reason) == (None, "")
    assert second.status == first.status  # matched like any first case, not held as a duplicate
    # At the same employer, the same SSN without a reason is refused as a duplicate (and for
    # nothing else: the check the other employer's case passed is live).
    with pytest.raises(ValidationFailed) as refused:
        services.case_create(actor=None, employer=employer, data=i9())
    assert set(refused.value.field_errors) == {"duplicate_reason"}


def test_the_sweep_closes_undecided_mismatches_after_ten_working_days(employer, ssa):
    with time_machine.travel("2026-12-31 15:00Z"):
        case = tnc(employer)
    with time_machine.travel("2027-01-15 15:00Z"):
        assert deadlines_sweep()["no_decision_closed"] == 0
    with time_machine.travel("2027-01-19 15:00Z"):  # after the 15th; the 18th is MLK day
        assert deadlines_sweep()["no_decision_closed"] == 1
    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert case.closure_code == ClosureCode.NO_DECISION
    assert case.result == S.FINAL_NONCONFIRMATION


def test_the_sweep_records_no_shows_after_the_contact_deadline(employer, ssa):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    with time_machine.travel("2026-12-08 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 0
    with time_machine.travel("2026-12-09 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 1
    case.refresh_from_db()
    assert case.status == S.FINAL_NONCONFIRMATION  # an SSA referral: no-show is final


def test_contact_prevents_the_no_show(employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
        services.case_contact_record(actor=vera, case=case)
    with time_machine.travel("2026-12-20 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 0


def test_the_sweep_closes_drafts_untouched_for_180_working_days(employer, ssa):
    with time_machine.travel("2026-01-05 15:00Z"):
        case = create(employer, submit=False)
    with time_machine.travel("2026-09-01 15:00Z"):
        assert deadlines_sweep()["drafts_closed"] == 0
    with time_machine.travel("2026-10-01 15:00Z"):
        assert deadlines_sweep()["drafts_closed"] == 1
    case.refresh_from_db()
    assert case.closure_code == ClosureCode.DRAFT_EXPIRED


def test_the_sweep_escalates_continuance_after_60_working_days_once(employer, ssa, vera):
    with time_machine.travel("2026-01-05 15:00Z"):
        case = services.case_resolve(actor=vera, case=referred(employer), resolution="continuance")
    with time_machine.travel("2026-03-20 15:00Z"):
        assert deadlines_sweep()["continuances_escalated"] == 0
    with time_machine.travel("2026-04-15 15:00Z"):
        assert deadlines_sweep()["continuances_escalated"] == 1
        assert deadlines_sweep()["continuances_escalated"] == 0
    case.refresh_from_db()
    assert case.continuance_escalated_at is not None
    assert case.status == S.CASE_IN_CONTINUANCE


def test_a_submit_writes_its_audit_event_with_the_case(employer, ssa):
    from audit.models import AuditEvent

    case = create(employer)
    event = AuditEvent.objects.get(action="vcase.submitted", object_id=str(case.pk))
    assert event.changes == {"status": ["draft", case.status]}
    assert event.detail["result"] == "employment_authorized"  # then closed automatically
    assert event.detail["created"]["duplicate_of"] is None


def test_a_submit_whose_audit_event_cannot_be_written_leaves_no_case(employer, ssa):
    """The event rides in the case's own INSERT statement: its failure is still the audit's."""
    from django.db import connection

    from audit.services import AuditWriteFailed
    from verification.models import VerificationCase

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_event ADD CONSTRAINT audit_test_outage "
            "CHECK (action <> 'vcase.submitted')"
        )
    with pytest.raises(AuditWriteFailed) as caught:
        create(employer, employer_case_id="outage-1")
    assert "could not be recorded" in str(caught.value)
    assert not VerificationCase.objects.filter(employer_case_id="outage-1").exists()
    assert connection.is_usable()


def test_a_case_insert_failure_is_not_taken_for_an_audit_outage(employer, ssa, monkeypatch):
    from django.db import IntegrityError

    from verification.services import submit

    taken = create(employer)
    # The case id of an existing case: the case's own INSERT fails, not the audit event's.
    monkeypatch.setattr(submit, "allocate_ids", lambda model: [taken.pk])
    with pytest.raises(IntegrityError):
        services.case_create(actor=None, employer=employer, data=i9(duplicate_reason="rehire"))
