"""The deadline rules of the lifecycle, in federal working days: escalations, notices to the status
verifiers, the referral contact window, and what the verifiers' screens show of them."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import ValidationFailed
from privacy.models import Notification, Role
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.verification.conftest import create, referred
from verification import services
from verification.models import CaseStatus, ClosureCode, TncSource
from verification.services.sweeps import deadlines_sweep

pytestmark = pytest.mark.django_db
S = CaseStatus


def nmt(employer):
    """Nadia attests citizenship; SSA says noncitizen and DHS shows no naturalization: manual check."""
    case = create(
        employer,
        ssn="567-89-0123",
        first_name="Nadia",
        last_name="Haddad",
        date_of_birth=date(1992, 2, 20),
    )
    assert case.status == S.NEEDS_MORE_TIME
    return case


@pytest.fixture
def ssa_interconnection(directory, sally):
    """USCIS lets SSA's status verifiers work the verification cases referred to SSA (sally)."""
    from tests.factories import UserFactory

    admin = UserFactory(
        username="ic-admin", unit=directory["uscis_monitoring"], roles=[Role.ADMIN], is_staff=True
    )
    today = timezone.localdate()
    agreement = agreement_create(
        actor=admin,
        reference="uscis-ssa-ic",
        title="USCIS to SSA status verification",
        kind="interconnection",
        source_agency=directory["uscis"],
        recipient_agency=directory["ssa"],
        purpose="SSA resolves E-Verify mismatches referred to it.",
        legal_authority="8 U.S.C. 1324a note",
        routine_use="DHS/USCIS-011 routine use A",
        scope={"verification_cases": ["view", "search", "change"]},
        effective_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=400),
    )
    agreement = agreement_activate(actor=admin, agreement=agreement)
    grant_create(
        actor=admin,
        user=sally,
        role=Role.STATUS_VERIFIER,
        agreement=agreement,
        valid_from=today - timedelta(days=30),
    )
    return agreement


# --- Needs More Time ----------------------------------------------------------------------------


def test_needs_more_time_is_due_three_working_days_after_submit_over_thanksgiving(employer, ssa):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = nmt(employer)
    assert case.nmt_due_on == date(2026, 12, 1)  # Thanksgiving and the weekend skipped


def test_the_sweep_escalates_needs_more_time_past_its_deadline_once(employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = nmt(employer)
    with time_machine.travel("2026-12-01 15:00Z"):
        assert deadlines_sweep()["nmt_escalated"] == 0  # due today: not late yet
    with time_machine.travel("2026-12-02 15:00Z"):
        assert deadlines_sweep()["nmt_escalated"] == 1
        assert deadlines_sweep()["nmt_escalated"] == 0
    case.refresh_from_db()
    assert case.status == S.NEEDS_MORE_TIME  # escalated, not decided: a person still resolves it
    assert case.nmt_escalated_at is not None
    assert case.escalated_at == case.nmt_escalated_at
    event = AuditEvent.objects.get(action="vcase.nmt_escalated")
    assert event.object_id == str(case.pk)
    assert event.detail == {"due_on": "2026-12-01", "working_days_overdue": 1}
    assert event.actor_id is None  # the system acted


def test_a_resolved_needs_more_time_case_is_not_escalated(employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = nmt(employer)
        services.case_resolve(actor=vera, case=case, resolution="confirmed")
    with time_machine.travel("2026-12-10 15:00Z"):
        assert deadlines_sweep()["nmt_escalated"] == 0


def test_escalating_needs_more_time_before_its_deadline_changes_nothing(employer, ssa):
    case = nmt(employer)
    assert services.case_escalate_nmt(actor=None, case=case).nmt_escalated_at is None
    assert not AuditEvent.objects.filter(action="vcase.nmt_escalated").exists()


def test_needs_more_time_escalation_tells_uscis_verifiers_once_per_sweep(
    employer, ssa, vera, sally, ssa_interconnection
):
    with time_machine.travel("2026-11-25 15:00Z"):
        first, second = (
            nmt(employer),
            create(
                employer,
                ssn="567-89-0123",
                first_name="Nadia",
                last_name="Haddad",
                date_of_birth=date(1992, 2, 20),
            ),
        )
    with time_machine.travel("2026-12-02 15:00Z"):
        assert deadlines_sweep()["verifiers_notified"] == 1
        assert deadlines_sweep()["verifiers_notified"] == 0
    note = Notification.objects.get(user=vera)
    assert note.title == "2 verification cases escalated"
    assert f"{first.pk}, {second.pk}" in note.body
    assert note.link == "/verification/cases/?escalated=1"
    assert "567" not in note.body  # no personal data in a message
    assert "Haddad" not in note.body
    assert not Notification.objects.filter(user=sally).exists()  # a DHS manual check is not SSA's


# --- Continuance ----------------------------------------------------------------------------------


def test_continuance_is_escalated_after_60_working_days_not_calendar_days(employer, ssa, vera):
    with time_machine.travel("2026-11-02 15:00Z"):
        case = services.case_resolve(actor=vera, case=referred(employer), resolution="continuance")
    # 60 working days after Monday 2 November 2026, over Veterans Day, Thanksgiving, Christmas,
    # New Year's Day and Martin Luther King Day, is Monday 1 February 2027 (84 calendar days).
    with time_machine.travel("2027-01-29 15:00Z"):
        assert deadlines_sweep()["continuances_escalated"] == 0
    with time_machine.travel("2027-02-01 15:00Z"):
        assert deadlines_sweep()["continuances_escalated"] == 1
    case.refresh_from_db()
    assert case.escalated_at == case.continuance_escalated_at
    event = AuditEvent.objects.get(action="vcase.continuance_escalated")
    assert event.detail == {"since": "2026-11-02", "working_days": 60, "threshold": 60}


def test_an_ssa_continuance_goes_to_ssa_verifiers(employer, ssa, vera, sally, ssa_interconnection):
    with time_machine.travel("2026-11-02 15:00Z"):
        case = services.case_resolve(actor=sally, case=referred(employer), resolution="continuance")
    assert case.tnc_source == TncSource.SSA
    with time_machine.travel("2027-02-01 15:00Z"):
        deadlines_sweep()
    assert Notification.objects.filter(user=sally, title="1 verification case escalated").exists()
    assert not Notification.objects.filter(user=vera).exists()


def test_with_no_verifier_at_the_routed_agency_every_verifier_is_told(employer, ssa, vera, sally):
    # sally has no agreement here, so she may not work the case: vera hears of it instead.
    with time_machine.travel("2026-11-02 15:00Z"):
        services.case_resolve(actor=vera, case=referred(employer), resolution="continuance")
    with time_machine.travel("2027-02-01 15:00Z"):
        deadlines_sweep()
    assert Notification.objects.filter(user=vera).count() == 1
    assert not Notification.objects.filter(user=sally).exists()


# --- The referral contact window ------------------------------------------------------------------


def test_a_contact_after_the_deadline_is_refused(employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    with time_machine.travel("2026-12-09 15:00Z"):  # deadline 8 December
        with pytest.raises(ValidationFailed) as exc:
            services.case_contact_record(actor=vera, case=case)
        assert "2026-12-08" in exc.value.field_errors["contacted_on"][0]
        # A contact made in time and recorded late is accepted.
        case = services.case_contact_record(actor=vera, case=case, contacted_on=date(2026, 12, 8))
    assert case.contacted_on == date(2026, 12, 8)
    with time_machine.travel("2026-12-20 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 0


def test_the_ten_day_window_setting_moves_the_no_show(employer, ssa, vera, settings):
    settings.REFERRAL_CONTACT_WORKING_DAYS = 10
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    assert case.contact_due_on == date(2026, 12, 10)
    with time_machine.travel("2026-12-10 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 0
        services.case_contact_record(
            actor=vera, case=case, contacted_on=date(2026, 12, 9)
        )  # day 9: in time
    with time_machine.travel("2026-12-11 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 0


@pytest.mark.parametrize("contacted_on", [date(2026, 11, 24), date(2026, 11, 27)])
def test_a_contact_before_the_referral_or_in_the_future_is_refused(
    employer, ssa, vera, contacted_on
):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
        with pytest.raises(ValidationFailed):
            services.case_contact_record(actor=vera, case=case, contacted_on=contacted_on)


def test_a_dhs_no_show_after_the_window(employer, ssa, load_ref):
    load_ref(
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
    with time_machine.travel("2026-11-25 15:00Z"):
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
            document_expires_on=date(2028, 1, 1),
        )
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="take_action")
        services.case_refer(actor=None, case=case)
    with time_machine.travel("2026-12-09 15:00Z"):
        assert deadlines_sweep()["no_shows"] == 1
    case.refresh_from_db()
    assert case.status == S.DHS_NO_SHOW


# --- The sweep leaves everything else alone -------------------------------------------------------


def test_one_sweep_applies_every_rule_and_leaves_the_rest(employer, ssa, vera):
    with time_machine.travel("2026-01-05 15:00Z"):
        old_draft = create(employer, submit=False)
        continuance = services.case_resolve(
            actor=vera, case=referred(employer), resolution="continuance"
        )
    with time_machine.travel("2026-11-02 15:00Z"):
        undecided = create(employer, first_name="John", last_name="Smith")
        decided = create(employer, first_name="John", last_name="Smith")
        services.case_fan_issue(actor=None, case=decided)
        services.case_decide(actor=None, case=decided, decision="take_action")
        no_show = referred(employer)
        contacted = referred(employer)
        services.case_contact_record(actor=vera, case=contacted)
        late_nmt = nmt(employer)
    with time_machine.travel("2026-11-30 15:00Z"):
        fresh_draft = create(employer, submit=False)
        fresh_tnc = create(employer, first_name="John", last_name="Smith")
        fresh_nmt = nmt(employer)
        fresh_continuance = services.case_resolve(
            actor=vera, case=referred(employer), resolution="continuance"
        )
        counts = deadlines_sweep()
    assert counts == {
        "drafts_closed": 1,
        "no_decision_closed": 1,
        "no_shows": 1,
        "nmt_escalated": 1,
        "continuances_escalated": 1,
        "verifiers_notified": 1,
        "webhook_reminders": 0,  # no employer subscribes to webhooks here
    }
    for case in (
        old_draft,
        continuance,
        undecided,
        decided,
        no_show,
        contacted,
        late_nmt,
        fresh_draft,
        fresh_tnc,
        fresh_nmt,
        fresh_continuance,
    ):
        case.refresh_from_db()
    assert (old_draft.status, old_draft.closure_code) == (S.CLOSED, ClosureCode.DRAFT_EXPIRED)
    assert (undecided.status, undecided.closure_code) == (S.CLOSED, ClosureCode.NO_DECISION)
    assert no_show.status == S.FINAL_NONCONFIRMATION
    assert late_nmt.nmt_escalated_at is not None
    assert continuance.continuance_escalated_at is not None
    assert decided.status == S.TENTATIVE_NONCONFIRMATION
    assert contacted.status == S.REFERRED
    assert fresh_draft.status == S.DRAFT
    assert fresh_tnc.status == S.TENTATIVE_NONCONFIRMATION
    assert fresh_nmt.nmt_escalated_at is None
    assert fresh_continuance.continuance_escalated_at is None


# --- What the status verifiers see ----------------------------------------------------------------


def test_the_queue_puts_escalated_cases_first_and_can_show_only_them(login, employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        late = nmt(employer)
    with time_machine.travel("2026-12-02 15:00Z"):
        deadlines_sweep()
    fresh = nmt(employer)
    client = login(vera)
    page = client.get("/verification/cases/").content.decode()
    assert page.index(f">{late.pk}</a>") < page.index(f">{fresh.pk}</a>")
    assert "escalated</span>" in page
    only = client.get("/verification/cases/?escalated=on").content.decode()
    assert f">{late.pk}</a>" in only
    assert f">{fresh.pk}</a>" not in only


def test_the_case_page_explains_the_escalation(login, employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = nmt(employer)
    with time_machine.travel("2026-12-02 15:00Z"):
        deadlines_sweep()
        page = login(vera).get(f"/verification/cases/{case.pk}/").content.decode()
    assert "The DHS manual check was due on 2026-12-01" in page
    assert "overdue" in page


def test_a_late_contact_on_the_screen_is_a_field_error(login, employer, ssa, vera):
    with time_machine.travel("2026-11-25 15:00Z"):
        case = referred(employer)
    with time_machine.travel("2026-12-10 15:00Z"):
        response = login(vera).post(
            f"/verification/cases/{case.pk}/contact/", {"contacted_on": "2026-12-09"}
        )
    assert response.status_code == 400
    assert "a later contact is a no-show" in response.content.decode()
