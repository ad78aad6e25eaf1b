"""A worker's pool process opens its database connection when it starts, not in its first task."""

from __future__ import annotations

import logging
import time

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper

import config.celery
from config.celery import app
from tests.workers import celery_worker, stop_worker, wait_until


def _backends_since(started: float) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_start >= to_timestamp(%s)",
            [started],
        )
        return int(cur.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_is_connected_before_any_task():
    # No task is ever sent: the queue is the worker's own. Its pool process (concurrency 1) is
    # connected all the same; without the warm-up, no backend of the worker would exist.
    started = time.time()
    proc = celery_worker(f"idle-{time.monotonic_ns()}", "warm")
    try:
        wait_until(lambda: bool(app.control.ping(timeout=0.5)), 60, "the worker to answer")
        wait_until(lambda: _backends_since(started) >= 1, 20, "the pool process's connection")
        time.sleep(1.0)  # and only that one: the main process holds none
        assert _backends_since(started) == 1
    finally:
        stop_worker(proc)


@pytest.mark.django_db
def test_a_pool_process_starts_while_postgresql_is_unreachable(monkeypatch, caplog):
    settings = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": "1"}
    unreachable = DatabaseWrapper(settings)
    monkeypatch.setattr(config.celery, "connection", unreachable)
    with caplog.at_level(logging.WARNING, logger="config.celery"):
        config.celery._warm_child()  # no exception: the first task connects, or fails, as before
    assert unreachable.connection is None
    assert "without a database connection" in caplog.text
