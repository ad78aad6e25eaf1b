"""Several OS processes writing at once, with a sealer running beside them, leave a valid chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from audit import chain
from audit.models import AuditEvent, AuditSeal
from tests.audit.conftest import seal_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BASE_DIR = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    if host.startswith("/"):
        return f"postgres://{s['USER']}{password}@/{s['NAME']}?host={host}"
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def test_concurrent_writers_and_a_sealer_leave_a_gap_free_valid_chain(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    stop = tmp_path / "stop"
    writers, per_writer = 4, 60
    sealer = subprocess.Popen(
        [sys.executable, "-m", "tests.audit.writer_proc", "sealer", "0", str(stop)],
        cwd=BASE_DIR,
        env=env,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit.writer_proc", "writer", str(per_writer)],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(writers)
    ]
    try:
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()[-2000:]
    finally:
        stop.touch()
        sealer.wait(timeout=90)
    seal_all()
    assert AuditEvent.objects.filter(action="access.denied").count() == writers * per_writer
    assert AuditSeal.objects.count() == AuditEvent.objects.count()
    sealed = set(AuditSeal.objects.values_list("event_id", flat=True))
    assert sealed == set(AuditEvent.objects.values_list("id", flat=True))
    seqs = sorted(AuditSeal.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    result = chain.verify()
    assert result.ok, result.problem
    assert chain.verify(thorough=True).ok
