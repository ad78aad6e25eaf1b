"""The Celery app. Workers: `celery -A config worker`; schedules: `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

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
