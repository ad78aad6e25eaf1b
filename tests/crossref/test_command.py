"""`manage.py crossref run` as a person runs it: a subprocess on the test database and Redis db."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from core.queues import queue_consumers
from tests.workers import ROOT, celery_worker, stop_worker, wait_until

DOB = date(1984, 2, 9)


def _manage(*args: str) -> subprocess.Popen:
    url = urlsplit(django_settings.DATABASE_URL)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": urlunsplit(
            (url.scheme, url.netloc, "/" + connection.settings_dict["NAME"], url.query, "")
        ),
        "REDIS_URL": django_settings.REDIS_URL,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read(stream, lines: list[tuple[float, str]], start: float) -> None:
    """Each line of `stream` with the seconds after `start` it came (tqdm rewrites with \\r)."""
    for line in stream:
        for part in line.split("\r"):
            lines.append((time.monotonic() - start, part))


def _run_and_watch(matcher, *extra: str) -> tuple[int, float, list[tuple[float, str]], str]:
    start = time.monotonic()
    proc = _manage("crossref", "run", "--user", matcher.username, "--rules", "SSA-NOTFOUND",
                   "--partitions", "2", "--wait", *extra)  # fmt: skip
    err: list[tuple[float, str]] = []
    reader = threading.Thread(target=_read, args=(proc.stderr, err, start))
    reader.start()
    out = proc.stdout.read()
    code = proc.wait(120)
    reader.join(10)
    return code, time.monotonic() - start, err, out


@pytest.fixture
def private_redis():
    """The test Redis db, emptied: no partition message of another test waits in `batch`."""
    db = redis.Redis.from_url(django_settings.REDIS_URL)
    db.flushdb()
    yield
    db.flushdb()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_wait_says_at_once_that_no_worker_listens_and_gives_up(world, matcher, private_redis):
    emp = world.employer()
    world.case(emp, "510000001", "Ines", "Moura", DOB)
    code, elapsed, err, out = _run_and_watch(matcher, "--timeout", "6")
    warned = [(t, line) for t, line in err if "No worker listens on queue batch" in line]
    assert warned, err
    gave_up = [t for t, line in err if "Gave up waiting after 6 s" in line]
    assert gave_up, err
    # Within seconds of waiting, not at the end of the timeout: counted back from the give-up, so
    # Django's start-up (seconds on a loaded machine) is not counted against the warning.
    assert warned[0][0] <= gave_up[0] - 3, "said within seconds"
    assert code == 1
    assert 6 <= elapsed < 30
    assert "Run " in out


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_wait_follows_a_run_that_a_worker_consumes_to_its_end(world, matcher, private_redis):
    emp = world.employer()
    world.case(emp, "510000002", "Ines", "Moura", DOB)
    worker = celery_worker("interactive,batch", "xr-command")
    try:
        wait_until(lambda: (queue_consumers(fresh=True) or {}).get("batch"), 60, "the worker")
        code, _elapsed, err, out = _run_and_watch(matcher, "--timeout", "90")
    finally:
        stop_worker(worker)
    assert code == 0, err
    assert not [line for _, line in err if "No worker listens" in line]
    assert "done: 2/2 partitions" in out
