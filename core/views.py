"""Operational endpoints."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.queues import queue_consumers
from core.tasks import HEARTBEAT_KEY


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return "down"
    return "ok"


def _check_redis() -> tuple[str, float | None]:
    try:
        cache.set("crosscheck:healthz", 1, timeout=10)
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:
        return "down", None
    return "ok", beat


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, Redis, worker heartbeat and queue consumers; 503 when the database or Redis is down.

    "degraded" when no worker is alive or a queue our tasks go to has no consumer: its tasks
    wait there until one comes (`queues_without_consumer` names them).
    """
    database = _check_database()
    redis_state, beat = _check_redis()
    age = None if beat is None else round(time.time() - float(beat), 1)
    worker = "ok" if age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE else "stale"
    healthy = database == "ok" and redis_state == "ok"
    consumers = queue_consumers() if redis_state == "ok" else None
    idle = None if consumers is None else [q for q, n in consumers.items() if not n]
    working = worker == "ok" and idle == []
    body = {
        "status": "ok" if healthy and working else ("degraded" if healthy else "down"),
        "database": database,
        "redis": redis_state,
        "worker": worker,
        "worker_heartbeat_age_seconds": age,
        "queues": consumers,
        "queues_without_consumer": idle,
    }
    return JsonResponse(body, status=200 if healthy else 503)
