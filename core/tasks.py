"""Operational tasks: the worker heartbeat that /healthz reads."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "crosscheck:worker-heartbeat"


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> float:
    """Record that a worker is alive and consuming; beat schedules this every 30 s."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now
