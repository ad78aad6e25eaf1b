"""The Celery app. Workers: `celery -A config worker`; schedules: `celery -A config beat`."""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init
from django.db import OperationalError, connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
log = logging.getLogger(__name__)

app = Celery("crosscheck")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _announce_readiness(sender: Celery, **kwargs: object) -> None:
    # Inside the function: this module is imported with the settings, before Django's apps load,
    # and core.tasks needs them loaded.
    from celery.signals import worker_ready

    @worker_ready.connect(weak=False)
    def _first_heartbeat(**_: object) -> None:
        # Report a live worker at once, rather than at beat's first tick 30 s later.
        from core.tasks import heartbeat

        heartbeat.delay()


@worker_init.connect
def _warm_children(**_: object) -> None:
    # Connected here, at the worker's start, after Celery's Django fix-up connected its own
    # process-init handler (which closes every connection a child inherits): this one runs after it.
    worker_process_init.connect(_warm_child, weak=False)


def _warm_child(**_: object) -> None:
    """Open a new pool process's database connection before its first task rather than in it.

    Connections live for CONN_MAX_AGE with health checks (config.settings.base), so every later
    task reuses this one; a dead one is replaced at a task's start as before.
    """
    try:
        connection.ensure_connection()
    except OperationalError:  # PostgreSQL is down: the first task connects (or fails) as before
        log.warning("worker process started without a database connection")
