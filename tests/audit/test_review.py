"""Anomaly rules and the review workflow, on constructed data."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from audit import anomalies, review
from audit.models import AuditEvent, ReviewAssignment
from audit.services import AuditWriteFailed, search_hmac
from core.errors import Forbidden, NotFound
from tests.audit.conftest import sql

pytestmark = pytest.mark.django_db

EASTERN = ZoneInfo("America/New_York")
# A Wednesday in a week without federal holidays.
DAY = datetime(2026, 11, 4, tzinfo=EASTERN)


def make(user, when, action="case.viewed", **fields):
    """An event as it would have been recorded at `when` (constructed data, straight INSERT)."""
    return AuditEvent.objects.create(
        occurred_at=when,
        actor_id=user.pk,
        actor_username=user.username,
        actor_agency=user.agency.code,
        actor_role=",".join(user.roles),
        action=action,
        **fields,
    )


def window():
    return DAY, DAY + timedelta(days=1)


def rules_for(rule):
    start, end = window()
    return anomalies.flags_for(start=start, end=end, rules=[rule])


def test_volume_far_above_the_users_own_baseline_is_flagged(settings, alice, bob):
    settings.AUDIT_ANOMALY = {
        **settings.AUDIT_ANOMALY,
        "VOLUME_MIN_EVENTS": 20,
        "VOLUME_FACTOR": 3.0,
        "BASELINE_DAYS": 10,
    }
    for d in range(1, 11):  # alice: 10 a day for ten days
        for i in range(10):
            make(alice, DAY - timedelta(days=d) + timedelta(hours=10, minutes=i))
    for i in range(25):  # 25 today: above floor, below 3x10
        make(alice, DAY + timedelta(hours=10, minutes=i))
    for i in range(40):  # bob: no history, 40 today
        make(bob, DAY + timedelta(hours=10, seconds=i))
    flags = rules_for("volume")
    assert [f.username for f in flags] == ["bob"]
    assert "baseline of 0" in flags[0].explanation


def test_access_outside_assignments_is_flagged_through_the_hook(alice, monkeypatch):
    make(alice, DAY + timedelta(hours=10), subjects=["person:1", "person:2"])
    make(alice, DAY + timedelta(hours=11), subjects=["person:1"])
    make(
        alice,
        DAY + timedelta(hours=12),
        subjects=["person:9"],
        break_glass=True,
        justification="urgent",
    )
    monkeypatch.setattr(anomalies, "_resolvers", [])  # as if no app (cases) had registered one
    assert rules_for("outside_assignment") == []  # no app has said who is assigned to whom

    def assigned(*, user_id, subjects):
        return {"person:1"} & subjects

    anomalies.register_assignment_resolver(assigned)
    try:
        flags = rules_for("outside_assignment")
    finally:
        anomalies._resolvers.remove(assigned)
    assert len(flags) == 1
    assert "person:2" in flags[0].explanation


def test_after_hours_bursts_are_flagged(settings, alice, bob):
    settings.AUDIT_ANOMALY = {
        **settings.AUDIT_ANOMALY,
        "AFTER_HOURS_BURST": 10,
        "BURST_WINDOW_MINUTES": 10,
    }
    for i in range(12):  # 23:00 local, 12 events in 6 minutes
        make(alice, DAY + timedelta(hours=23, seconds=30 * i))
    for i in range(12):  # bob does the same at 10:00: working hours
        make(bob, DAY + timedelta(hours=10, seconds=30 * i))
    flags = rules_for("after_hours_burst")
    assert [f.username for f in flags] == ["alice"]
    assert "outside working hours" in flags[0].explanation


def test_break_glass_use_is_always_flagged(alice):
    make(alice, DAY + timedelta(hours=9), break_glass=True, justification="Court order 12")
    flags = rules_for("break_glass")
    assert len(flags) == 1
    assert "Court order 12" in flags[0].explanation


def test_repeated_denials_within_an_hour_are_flagged(settings, alice, bob):
    settings.AUDIT_ANOMALY = {**settings.AUDIT_ANOMALY, "DENIALS": 5}
    for i in range(5):
        make(alice, DAY + timedelta(hours=10, minutes=5 * i), outcome="denied")
    for i in range(5):  # spread over five hours
        make(bob, DAY + timedelta(hours=10 + i), outcome="denied")
    assert [f.username for f in rules_for("repeated_denials")] == ["alice"]


def test_reveals_above_the_agency_norm_are_flagged(settings, directory, alice, bob):
    from privacy.models import Role
    from tests.factories import UserFactory

    settings.AUDIT_ANOMALY = {**settings.AUDIT_ANOMALY, "REVEALS_MIN": 10, "REVEALS_FACTOR": 3.0}
    carol = UserFactory(username="carol", unit=directory["unit_a"], roles=[Role.ANALYST])
    for user, n in ((alice, 40), (bob, 2), (carol, 3)):
        for i in range(n):
            make(user, DAY + timedelta(hours=10, seconds=i), action="vcase.identifier_revealed")
    flags = rules_for("reveals_above_norm")
    assert [f.username for f in flags] == ["alice"]
    assert "median" in flags[0].explanation


def test_a_search_for_ones_own_surname_is_flagged(alice, bob):
    alice.last_name = "Núñez"
    alice.save()
    make(
        alice,
        DAY + timedelta(hours=10),
        search_kind="surname",
        search_hmac=search_hmac(kind="surname", value="NUNEZ"),
    )
    make(
        bob,
        DAY + timedelta(hours=10),
        search_kind="surname",
        search_hmac=search_hmac(kind="surname", value="Nunez"),
    )
    flags = rules_for("own_surname_search")
    assert [f.username for f in flags] == ["alice"]


def test_every_rule_is_explained():
    assert set(anomalies.RULES) == set(anomalies.ALL_RULES)


@pytest.fixture
def supervisors(directory):
    from privacy.models import Role
    from tests.factories import UserFactory

    return [
        UserFactory(username="sam", unit=directory["unit_a"], roles=[Role.SUPERVISOR]),
        UserFactory(username="sue", unit=directory["unit_b"], roles=[Role.SUPERVISOR]),
    ]


def test_flagged_and_sampled_events_are_assigned_never_to_their_actor(alice, supervisors):
    sam, sue = supervisors
    start, end = window()
    glass = make(alice, DAY + timedelta(hours=9), break_glass=True, justification="x")
    own = make(sam, DAY + timedelta(hours=9), break_glass=True, justification="y")
    for i in range(20):
        make(alice, DAY + timedelta(hours=10, minutes=i))
    made = review.review_assign(actor=None, start=start, end=end, sample_size=2, seed=1)
    by_event = {(a.event_id, a.rule): a for a in made}
    assert (glass.pk, "break_glass") in by_event
    assert by_event[(own.pk, "break_glass")].reviewer == sue  # never sam himself
    assert all(a.reviewer_id != a.event_actor_id for a in made)
    assert sum(1 for a in made if a.reason == "sample") == 4
    assert AuditEvent.objects.filter(action="audit.review_assigned").count() == 1
    # Running it again adds nothing twice.
    assert (
        all(
            a.reason == "sample"
            for a in review.review_assign(actor=None, start=start, end=end, sample_size=0, seed=1)
        )
        is True
    )
    assert ReviewAssignment.objects.filter(rule="break_glass").count() == 2


def test_a_review_needs_a_note_and_is_itself_audited(alice, supervisors):
    sam, _sue = supervisors
    event = make(alice, DAY + timedelta(hours=9))
    assignment = ReviewAssignment.objects.create(
        event_id=event.pk,
        event_occurred_at=event.occurred_at,
        event_actor_id=alice.pk,
        reviewer=sam,
        reason="sample",
    )
    done = review.review_complete(
        actor=sam, assignment_id=assignment.pk, note="Checked: lead 12 assigned that day."
    )
    assert done.reviewed_at is not None
    recorded = AuditEvent.objects.get(action="audit.reviewed")
    assert (recorded.actor_id, recorded.object_id, recorded.outcome) == (
        sam.pk,
        str(event.pk),
        "allowed",
    )


def test_reviewing_ones_own_event_is_refused_and_recorded(supervisors):
    sam, _sue = supervisors
    event = make(sam, DAY + timedelta(hours=9))
    assignment = ReviewAssignment.objects.create(
        event_id=event.pk,
        event_occurred_at=event.occurred_at,
        event_actor_id=sam.pk,
        reviewer=sam,
        reason="sample",
    )
    with pytest.raises(Forbidden):
        review.review_complete(actor=sam, assignment_id=assignment.pk, note="Looks fine to me.")
    assignment.refresh_from_db()
    assert assignment.reviewed_at is None
    denied = AuditEvent.objects.get(action="audit.reviewed")
    assert denied.outcome == "denied"


def test_someone_elses_assignment_is_not_found(alice, supervisors):
    sam, sue = supervisors
    event = make(alice, DAY)
    assignment = ReviewAssignment.objects.create(
        event_id=event.pk,
        event_occurred_at=event.occurred_at,
        event_actor_id=alice.pk,
        reviewer=sam,
        reason="sample",
    )
    with pytest.raises(NotFound):
        review.review_complete(actor=sue, assignment_id=assignment.pk, note="x")


def test_a_failed_audit_write_rolls_the_review_back(alice, supervisors):
    sam, _sue = supervisors
    event = make(alice, DAY)
    assignment = ReviewAssignment.objects.create(
        event_id=event.pk,
        event_occurred_at=event.occurred_at,
        event_actor_id=alice.pk,
        reviewer=sam,
        reason="sample",
    )
    sql(
        "ALTER TABLE audit_event ADD CONSTRAINT audit_test_outage CHECK (action <> 'audit.reviewed')"
    )
    with pytest.raises(AuditWriteFailed):
        review.review_complete(actor=sam, assignment_id=assignment.pk, note="Checked.")
    assignment.refresh_from_db()
    assert assignment.reviewed_at is None
    assert assignment.note == ""
    assert transaction.get_connection().is_usable()


def test_the_review_page_marks_an_event_reviewed_by_htmx(login, alice, supervisors):
    sam, _sue = supervisors
    event = make(alice, DAY)
    assignment = ReviewAssignment.objects.create(
        event_id=event.pk,
        event_occurred_at=event.occurred_at,
        event_actor_id=alice.pk,
        reviewer=sam,
        reason="flag",
        rule="break_glass",
        explanation="Break-glass.",
    )
    client = login(sam)
    page = client.get("/audit/review/")
    assert f"review-{assignment.pk}" in page.content.decode()
    response = client.post(
        "/audit/review/",
        {"assignment": assignment.pk, "note": "Justified: court order."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"reviewed" in response.content
    assignment.refresh_from_db()
    assert assignment.note == "Justified: court order."
