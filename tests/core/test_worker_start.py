"""A worker's pool process opens its database connection when it starts, not in its first task."""

from __future__ import annotations

import logging
import time

import psutil
import pytest
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper

import config.celery
from config.celery import app
from tests.workers import celery_worker, stop_worker, wait_until


def _worker_backends(proc) -> list[int]:
    """The pids of the worker's processes (main and pool) connected to the test database."""
    port = int(connection.settings_dict.get("PORT") or 5432)
    main = psutil.Process(proc.pid)
    by_port = {
        c.laddr.port: p.pid
        for p in [main, *main.children(recursive=True)]
        for c in p.net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port
    }
    with connection.cursor() as cur:
        cur.execute("SELECT client_port FROM pg_stat_activity WHERE datname = current_database()")
        ports = {row[0] for row in cur.fetchall()}
    return [pid for client, pid in by_port.items() if client in ports]


@pytest.mark.django_db
def test_a_pool_process_is_connected_before_any_task():
    # No task is ever sent: the queue is the worker's own. Its pool process (concurrency 1) is
    # connected all the same; without the warm-up, no process of the worker would be.
    proc = celery_worker(f"idle-{time.monotonic_ns()}", "warm")
    try:
        wait_until(lambda: bool(app.control.ping(timeout=0.5)), 60, "the worker to answer")
        wait_until(lambda: bool(_worker_backends(proc)), 20, "the pool process's connection")
        pool = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert _worker_backends(proc) == pool  # the pool process's, one; the main process has none
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
