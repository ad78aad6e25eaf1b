"""A run's last partition queues the finding ingest: flagged cases appear without the beat.

A real Celery worker on the batch queue (partitions) and the interactive queue (ingest); no beat.
"""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import date

import pytest
import redis
from django.conf import settings as django_settings

from cases.models import Case, CaseFinding, RoutingRule
from crossref import finished, services
from crossref.models import Finding, Run, RunStatus
from tests.workers import celery_worker, wait_until

DOB = date(1981, 3, 14)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_end_of_a_run_ingests_its_findings_without_the_beat(world, matcher, directory):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    RoutingRule.objects.create(rule_family="", state="", unit=directory["unit_a"])
    emp = world.employer()
    for i in range(6):
        world.case(emp, f"41{i:07d}", "Rui", "Costa" + chr(97 + i), DOB)  # no SSA record each
    worker = celery_worker("batch,interactive", "xr-finish")
    try:
        run = services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], ssn_partitions=3)
        wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.DONE, 90, "the run")
        wait_until(lambda: Case.objects.count() == 6, 30, "six flagged cases")
    finally:
        _stop(worker)
    # Each finding ingested exactly once, whatever fired.
    assert Finding.objects.filter(run=run).count() == 6
    assert CaseFinding.objects.count() == 6


def test_a_failing_listener_does_not_stop_the_others(monkeypatch):
    heard = []

    def broken(run_id: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(finished, "_listeners", [])
    finished.register(broken)
    finished.register(heard.append)
    finished.register(heard.append)  # registering twice keeps one
    finished.announce(7)
    assert heard == [7]
