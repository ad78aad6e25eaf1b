"""Which Celery queues have a worker consuming them, asked of the workers themselves.

A task sent to a queue that no worker consumes waits in Redis, silently, for as long as it
takes someone to notice: a worker started as `celery -A config worker` consumes only the default
`interactive` queue, and a cross-reference run's partitions go to `batch`. /healthz, the run page
and `manage.py crossref run` ask here. The answer comes from Celery's `inspect().active_queues()`,
which waits up to a short timeout for the workers' replies; it is cached for a few seconds, so a
page polled every two seconds does not wait each time.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache

CACHE_KEY = "core:queue-consumers"
log = logging.getLogger(__name__)


def expected_queues() -> list[str]:
    """The queues our tasks are sent to: the default one, then those the routes name."""
    routed = [str(route["queue"]) for route in settings.CELERY_TASK_ROUTES.values()]
    return list(dict.fromkeys([settings.CELERY_TASK_DEFAULT_QUEUE, *routed]))


def queue_of(task_name: str) -> str:
    """The queue a task of that name is sent to (the routes, else the default queue)."""
    router = current_app.amqp.router  # type: ignore[attr-defined]  # not in celery-types
    options: dict[str, Any] = router.route({}, task_name)
    queue = options.get("queue")
    return str(getattr(queue, "name", queue) or settings.CELERY_TASK_DEFAULT_QUEUE)


def queue_consumers(*, fresh: bool = False) -> dict[str, int] | None:
    """How many workers consume each expected queue (and any other queue a worker consumes).

    None when the broker cannot be asked. A cached answer up to QUEUE_CONSUMERS_CACHE_SECONDS
    old is returned unless `fresh`.
    """
    if not fresh:
        try:
            cached = cache.get(CACHE_KEY)
        except Exception:
            cached = None
        if cached is not None:
            return dict(cached)
    try:
        inspector = current_app.control.inspect(timeout=settings.QUEUE_INSPECT_TIMEOUT_SECONDS)
        replies = inspector.active_queues() or {}
    except Exception:
        log.warning("could not ask the workers which queues they consume", exc_info=True)
        return None
    counts = dict.fromkeys(expected_queues(), 0)
    for queues in replies.values():
        for queue in queues or []:
            name = str(queue.get("name", ""))
            counts[name] = counts.get(name, 0) + 1
    try:
        cache.set(CACHE_KEY, counts, timeout=settings.QUEUE_CONSUMERS_CACHE_SECONDS)
    except Exception:
        log.warning("could not cache the queue consumers", exc_info=True)
    return counts


def queues_without_consumer(*, fresh: bool = False) -> list[str] | None:
    """The expected queues no worker consumes (None when the broker cannot be asked)."""
    counts = queue_consumers(fresh=fresh)
    if counts is None:
        return None
    return [name for name in expected_queues() if not counts.get(name)]


def idle_queue_of(task_name: str, *, fresh: bool = False) -> str | None:
    """The queue tasks of that name go to, if no worker consumes it (None: consumed, or cannot tell)."""
    queue = queue_of(task_name)
    consumers = queue_consumers(fresh=fresh)
    return queue if consumers is not None and not consumers.get(queue) else None


def no_consumer_message(queue: str) -> str:
    """What to tell a person whose work waits on a queue no worker consumes."""
    return (
        f"No worker listens on queue {queue}: its tasks wait until one does. Start one that "
        f"consumes it, e.g. `celery -A config worker -Q {','.join(expected_queues())}`."
    )
