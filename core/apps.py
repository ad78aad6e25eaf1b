from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom of the app order: the base model and scoped querysets, domain errors, the federal
    working-day calendar, view markers, health checks. It imports no other app of ours."""

    name = "core"
    verbose_name = "Core"
