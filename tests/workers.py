"""A real Celery worker process for the tests that need one, on the test database and Redis db."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def celery_worker(
    queue: str | None,
    name: str,
    env_extra: dict[str, str] | None = None,
    *,
    log: Path | None = None,
    loglevel: str = "WARNING",
) -> subprocess.Popen:
    """Start one prefork worker (concurrency 1) on `queue`, in its own session so a test can kill it.

    `queue=None` starts it without -Q, as `celery -A config worker` does: the default queue only.
    `log` keeps its stdout and stderr in a file (discarded otherwise).
    """
    url = urlsplit(settings.DATABASE_URL)
    test_db_url = urlunsplit(
        (url.scheme, url.netloc, "/" + connection.settings_dict["NAME"], url.query, "")
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_db_url,
        "REDIS_URL": settings.REDIS_URL,
        **(env_extra or {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            *(["-Q", queue] if queue else []),
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--loglevel",
            loglevel,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log.open("ab") if log else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop a worker of `celery_worker` (SIGTERM, then SIGKILL after 15 s)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")
