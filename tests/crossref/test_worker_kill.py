"""A real Celery worker killed with SIGKILL in the middle of a partition; the sweeper recovers it.

The first worker pauses inside the partition's transaction, after its findings are written but
before the commit, and is killed there. Its lease expires; the sweeper re-queues the partition
(and re-sends the messages the dead worker had reserved); a second worker finishes the run. The
findings are exactly those of an undisturbed run: none lost, none twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date, timedelta

import pytest
import redis
from django.conf import settings as django_settings

from crossref import services
from crossref.models import Finding, Partition, PartitionStatus, Run, RunStatus
from tests.workers import celery_worker, wait_until

DOB = date(1979, 6, 30)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_delays_a_run_but_loses_and_duplicates_nothing(world, matcher, settings):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # the private test Redis database
    emp = world.employer()
    expected = set()
    for i in range(40):
        ssn = f"31{i:07d}"
        # Distinct people: born on different days, so an SSN with two digits swapped that is
        # another's (with a similar name) is never taken for a keying slip of this one.
        last = "Silva" + chr(97 + i % 26) + chr(97 + i // 26)
        born = DOB + timedelta(days=i)
        if i % 4 == 0:
            c = world.case(emp, ssn, "Ana", last, born)  # no SSA record: one finding each
            expected.add(("SSA-NOTFOUND", f"case:{c.pk}"))
        else:
            world.numident(ssn, "Ana", last, born)
            world.case(emp, ssn, "Ana", last, born)
    settings.CROSSREF = {**settings.CROSSREF, "RESEND_PENDING_AFTER_SECONDS": 0}

    first = celery_worker(
        "batch",
        "xr-test",
        {"CROSSREF_TEST_PAUSE_BEFORE_COMMIT": "60", "CROSSREF_LEASE_SECONDS": "3"},
    )
    second = None
    try:
        run = services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], ssn_partitions=4)
        wait_until(
            lambda: Partition.objects.filter(run=run, status=PartitionStatus.RUNNING).exists(),
            60,
            "a claim",
        )
        time.sleep(1.0)  # inside the transaction now: findings written, not committed
        victim = Partition.objects.get(run=run, status=PartitionStatus.RUNNING)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        assert not Finding.objects.exists()  # nothing of the killed transaction is visible

        time.sleep(3.5)  # the lease expires
        swept = services.partitions_sweep()
        assert swept["expired"] == 1
        second = celery_worker("batch", "xr-test", {"CROSSREF_LEASE_SECONDS": "30"})
        wait_until(
            lambda: Run.objects.get(pk=run.pk).status != RunStatus.RUNNING, 90, "the run to finish"
        )
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)

    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    got = list(Finding.objects.values_list("rule_code", "subject_key"))
    assert len(got) == len(set(got))  # no duplicates
    assert set(got) == expected  # no gaps
    victim.refresh_from_db()
    assert victim.status == PartitionStatus.DONE
    assert victim.attempts >= 2
    assert set(Partition.objects.filter(run=run).values_list("status", flat=True)) == {
        PartitionStatus.DONE
    }
