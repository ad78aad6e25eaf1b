"""The beat's deadline task, sent through the broker to a real Celery worker against the test database.

Cases are put in place with the real services at past dates (time travel in this process only);
the worker runs the sweep at today's date, as beat would, and must close and escalate exactly
the cases whose federal working-day deadlines have passed, and leave every other one alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import date, timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from audit.models import AuditEvent
from config.celery import app
from core.calendar import add_working_days
from privacy.models import Notification
from tests.verification.conftest import create, referred, tnc
from tests.workers import celery_worker, wait_until
from verification import services
from verification.models import CaseStatus, ClosureCode
from verification.tasks import deadlines_sweep

S = CaseStatus


def _at(working_days_ago: int) -> str:
    """Noon, `working_days_ago` federal working days before today (a date time_machine accepts)."""
    day = add_working_days(timezone.localdate(), -working_days_ago)
    return f"{day.isoformat()} 17:00Z"


def nmt(employer):
    return create(
        employer,
        ssn="567-89-0123",
        first_name="Nadia",
        last_name="Haddad",
        date_of_birth=date(1992, 2, 20),
    )


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_through_the_broker_closes_and_escalates_only_the_overdue_cases(
    employer, ssa, vera
):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # this run's private Redis database
    due = {}
    keep = {}
    with time_machine.travel(_at(200)):
        due["draft"] = create(employer, submit=False)
    with time_machine.travel(_at(100)):
        due["continuance"] = services.case_resolve(
            actor=vera, case=referred(employer), resolution="continuance"
        )
    with time_machine.travel(_at(12)):
        due["undecided"] = tnc(employer)
        due["no_show"] = referred(employer)
        due["nmt"] = nmt(employer)
        keep["decided"] = tnc(employer)
        services.case_fan_issue(actor=None, case=keep["decided"])
        services.case_decide(actor=None, case=keep["decided"], decision="take_action")
        keep["contacted"] = referred(employer)
        services.case_contact_record(actor=vera, case=keep["contacted"])
    with time_machine.travel(_at(20)):
        keep["continuance"] = services.case_resolve(
            actor=vera, case=referred(employer), resolution="continuance"
        )
    with time_machine.travel(_at(150)):
        keep["touched_draft"] = create(employer, submit=False)
    keep["touched_draft"].save(
        update_fields=["updated_at"]
    )  # touched today: not untouched for 180 days
    keep["draft"] = create(employer, submit=False)
    keep["tnc"] = tnc(employer)
    keep["referred"] = referred(employer)
    keep["nmt"] = nmt(employer)
    snapshot = {
        name: (c.status, c.closure_code)
        for name, c in keep.items()
        for c in [type(c).objects.get(pk=c.pk)]
    }

    # The beat schedule names this task; send it by name over the broker, exactly as beat does.
    entry = django_settings.CELERY_BEAT_SCHEDULE["verification-deadlines"]
    assert entry["task"] == deadlines_sweep.name

    worker = celery_worker("interactive", "deadlines-test")
    try:
        app.send_task(entry["task"])

        def swept() -> bool:
            return (
                AuditEvent.objects.filter(action="vcase.continuance_escalated").exists()
                and (AuditEvent.objects.filter(action="vcase.nmt_escalated").exists())
                and Notification.objects.filter(user=vera).exists()
            )

        wait_until(swept, 120, "the worker to run the deadline sweep")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)

    for case in (*due.values(), *keep.values()):
        case.refresh_from_db()
    assert (due["draft"].status, due["draft"].closure_code) == (S.CLOSED, ClosureCode.DRAFT_EXPIRED)
    assert (due["undecided"].status, due["undecided"].closure_code) == (
        S.CLOSED,
        ClosureCode.NO_DECISION,
    )
    assert due["undecided"].result == S.FINAL_NONCONFIRMATION
    assert due["no_show"].status == S.FINAL_NONCONFIRMATION  # an SSA referral: a no-show is final
    assert due["nmt"].status == S.NEEDS_MORE_TIME
    assert due["nmt"].nmt_escalated_at is not None
    assert due["continuance"].status == S.CASE_IN_CONTINUANCE
    assert due["continuance"].continuance_escalated_at is not None
    assert {name: (c.status, c.closure_code) for name, c in keep.items()} == snapshot
    assert keep["nmt"].nmt_escalated_at is None
    assert keep["continuance"].continuance_escalated_at is None

    # Each change is audited as the worker's task, and the verifier got one message for both
    # (its e-mail, sent at once by default, is audited too).
    events = AuditEvent.objects.filter(task_name="verification.tasks.deadlines_sweep")
    mailed = events.get(action="mail.sent")
    assert (mailed.object_id, mailed.detail["kind"]) == (str(vera.pk), "escalation")
    events = events.exclude(pk=mailed.pk)
    assert sorted(events.values_list("action", flat=True)) == sorted(
        [
            "vcase.auto_closed",
            "vcase.auto_closed",
            "vcase.no_show",
            "vcase.nmt_escalated",
            "vcase.continuance_escalated",
        ]
    )
    assert {e.object_id for e in events} == {str(c.pk) for c in due.values()}
    note = Notification.objects.get(user=vera)
    assert note.title == "2 verification cases escalated"
    assert str(due["nmt"].pk) in note.body
    assert str(due["continuance"].pk) in note.body
    assert timezone.now() - note.created_at < timedelta(minutes=5)
