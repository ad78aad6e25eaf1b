from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only, hash-chained audit trail and its review.

    Signal receivers (STYLE.md rule 9; each only sets context or connection state, none writes):
    - `django.db.backends.signals.connection_created` -> `audit.db.connection_prepare`: opens the
      test runner's narrow way through the TRUNCATE guard on test databases only (see audit/db.py).
    - Celery's `task_prerun` / `task_postrun` -> `audit.tasks_context`: bind the task name and run
      id to the audit context, as the middleware binds the request's, so events record where
      they came from.
    - `post_migrate` -> `audit.history.install`: (re)creates the row-history triggers of the tables
      that apps opted in with `audit.history.track` (writes that bypass services).
    """

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Imports inside: the models and the registries of lower apps load only once the app
        # registry is ready; this is where an app registers with the apps below it (DESIGN.md).
        from celery.signals import task_postrun, task_prerun
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from audit import db, history, tasks_context

        connection_created.connect(db.connection_prepare, dispatch_uid="audit.connection_prepare")
        connection_created.connect(history.connection_prepare, dispatch_uid="audit.history_context")
        task_prerun.connect(
            tasks_context.task_started, dispatch_uid="audit.task_started", weak=False
        )
        task_postrun.connect(
            tasks_context.task_finished, dispatch_uid="audit.task_finished", weak=False
        )
        post_migrate.connect(history.install, dispatch_uid="audit.history_install")
        history.track_defaults()
