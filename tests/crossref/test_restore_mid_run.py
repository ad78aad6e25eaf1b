"""A backup taken in the middle of a cross-reference run, restored into a new database: the run
finishes there, with a real worker, and its findings are those of the undisturbed run.

At the dump, two partitions are done, one is held by a worker in mid-partition (its lease taken,
nothing committed) and one waits in the queue. The original run then finishes undisturbed. The
restored system starts with an empty broker (its Redis is not the original's): the sweeper finds
the expired lease and the pending partition, and re-queues both; a real worker on the restored
database finishes the run. Then `audit_verify` on the restored database passes against the
checkpoints, the restore record at the backup's head among them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command

from crossref import engine, services
from crossref.models import Finding, Partition, PartitionStatus, Run, RunStatus
from tests.databases import db_url, pg, scratch_databases  # noqa: F401 - the `scratch` fixture
from tests.workers import celery_worker, stop_worker, wait_until

DOB = date(1981, 4, 12)
FINDING = "SELECT rule_code, subject_key, evidence_key, severity, summary FROM crossref_finding"


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_dump_taken_mid_run_restores_into_a_new_database_where_the_run_finishes(
    world, matcher, settings, tmp_path, scratch
):
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # the private test Redis database
    keys = {
        "CROSSCHECK_AUDIT_CHECKPOINT_PATH": str(tmp_path / "checkpoints.jsonl"),
        "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": str(tmp_path / "checkpoint-key.pem"),
    }
    settings.AUDIT_CHECKPOINT_PATH = keys["CROSSCHECK_AUDIT_CHECKPOINT_PATH"]
    settings.AUDIT_CHECKPOINT_KEY_FILE = keys["CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE"]
    settings.AUDIT_CHECKPOINT_KEY_CREATE = True
    settings.CROSSREF = {**settings.CROSSREF, "LEASE_SECONDS": 2, "RESEND_PENDING_AFTER_SECONDS": 0}
    emp = world.employer()
    expected = set()
    for i in range(40):
        ssn, last, born = (
            f"41{i:07d}",
            "Moreno" + chr(97 + i % 26) + chr(97 + i // 26),
            DOB + timedelta(days=i),
        )
        if i % 3 == 0:
            c = world.case(emp, ssn, "Lucia", last, born)  # no SSA record
            expected.add(("SSA-NOTFOUND", f"case:{c.pk}"))
        elif i % 3 == 1:
            world.numident(ssn, "Lucia", last, born - timedelta(days=400))  # another birth date
            world.case(emp, ssn, "Lucia", last, born)
        else:
            world.numident(ssn, "Lucia", last, born)
            world.case(emp, ssn, "Lucia", last, born)

    run = services.run_start(
        actor=matcher, rules=["SSA-NOTFOUND", "SSA-IDENTITY"], ssn_partitions=4
    )
    parts = list(Partition.objects.filter(run=run).order_by("number"))
    assert [engine.partition_execute(p.pk) for p in parts[:2]] == ["done", "done"]
    assert engine.partition_claim(parts[2].pk) is not None  # a worker is in mid-partition
    dump = tmp_path / "mid-run.dump"
    call_command("backup", str(dump))

    # The original run finishes undisturbed: a worker takes the queued messages, the sweeper
    # re-queues the partition whose lease ran out.
    first = celery_worker("batch", "xr-orig")
    try:
        time.sleep(2.5)
        wait_until(
            lambda: services.partitions_sweep()["expired"] == 0
            and not Partition.objects.filter(run=run, status=PartitionStatus.RUNNING).exists()
            and Run.objects.get(pk=run.pk).status != RunStatus.RUNNING,
            90,
            "the original run",
        )
    finally:
        stop_worker(first)
    assert Run.objects.get(pk=run.pk).status == RunStatus.DONE
    undisturbed = sorted(
        Finding.objects.values_list(
            "rule_code", "subject_key", "evidence_key", "severity", "summary"
        )
    )
    assert {(r, s) for r, s, *_ in undisturbed if r == "SSA-NOTFOUND"} == expected
    assert any(r == "SSA-IDENTITY" for r, *_ in undisturbed)

    # The restored system: a new database, its own checkpoint file, an empty broker.
    redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    target = scratch("midrun")
    restored_cps = tmp_path / "restored-checkpoints.jsonl"
    call_command("restore", str(dump), database_url=db_url(target), checkpoints=str(restored_cps))
    statuses = [
        r[0]
        for r in pg(
            target,
            "SELECT status FROM crossref_partition WHERE run_id = %s ORDER BY number",
            [run.pk],
        )
    ]
    assert statuses == ["done", "done", "running", "pending"]  # the dump was taken mid-run
    env = {
        **keys,
        "DATABASE_URL": db_url(target),
        "CROSSCHECK_AUDIT_CHECKPOINT_PATH": str(restored_cps),
        "CROSSREF_RESEND_PENDING_AFTER_SECONDS": "0",
        "REDIS_URL": django_settings.REDIS_URL,
    }
    second = celery_worker("batch", "xr-restored", env)
    try:
        swept = manage("crossref", "sweep", env=env)
        assert swept.returncode == 0, swept.stderr
        assert "'expired': 1" in swept.stdout
        assert "'resent': 1" in swept.stdout
        wait_until(
            lambda: pg(target, "SELECT status FROM crossref_run WHERE id = %s", [run.pk])[0][0]
            != "running",
            90,
            "the restored run",
        )
    finally:
        stop_worker(second)
    assert pg(target, "SELECT status FROM crossref_run WHERE id = %s", [run.pk])[0][0] == "done"
    restored = sorted(pg(target, FINDING))
    assert restored == undisturbed  # the same findings, none twice, none lost
    assert len({f[:3] for f in restored}) == len(restored)

    verified = manage("audit_verify", "--json", env=env)
    result = json.loads(verified.stdout.strip().splitlines()[-1])
    assert verified.returncode == 0, result
    assert result["ok"]
    assert result["checkpoints_checked"] >= 2  # the backup's checkpoint and the restore record
    kinds = [
        json.loads(x).get("kind", "checkpoint") for x in Path(restored_cps).read_text().splitlines()
    ]
    assert kinds[-1] == "restore"
