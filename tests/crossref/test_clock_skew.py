"""A worker whose clock runs ahead does not take over live leases or resend fresh messages.

Leases are claimed on PostgreSQL's clock; the sweeper (a beat task that any worker may run)
compared them with its own. A worker ten minutes ahead (the chaos harness's clock fault, under
libfaketime) saw every lease shorter than ten minutes as expired and every pending partition as
stale, and re-queued them all; the one clock that decides is the database's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db.models.functions import Now
from django.utils import timezone

from crossref import engine, services
from crossref.models import Partition, PartitionStatus

pytestmark = pytest.mark.django_db


def _run_with_one_running_and_one_pending(matcher):
    run = services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], ssn_partitions=2, enqueue=False)
    running, pending = run.partitions.order_by("number")[:2]
    Partition.objects.filter(pk=running.pk).update(
        status=PartitionStatus.RUNNING,
        lease_token="t",
        lease_expires_at=Now() + timedelta(seconds=120),
    )
    Partition.objects.filter(pk=pending.pk).update(enqueued_at=Now())
    return running, pending


def test_a_sweeper_ten_minutes_ahead_sees_no_lease_expired_and_nothing_stale(
    world, matcher, settings
):
    settings.CROSSREF = {**settings.CROSSREF, "RESEND_PENDING_AFTER_SECONDS": 120}
    _run_with_one_running_and_one_pending(matcher)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        assert list(engine.expired_leases()) == []
        assert list(engine.stale_pending()) == []
        assert services.partitions_sweep()["expired"] == 0


def test_a_message_sent_by_a_worker_ahead_is_stamped_on_the_database_clock(world, matcher):
    # Stamped ten minutes in the future, a lost message would wait ten more minutes to be resent.
    _running, pending = _run_with_one_running_and_one_pending(matcher)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        services.partitions_enqueue(partition_ids=[pending.pk])
    pending.refresh_from_db()
    assert pending.enqueued_at <= timezone.now() + timedelta(seconds=5)
