from django.apps import AppConfig


class VerificationConfig(AppConfig):
    """Employers, workers, verification cases, reference sources and the employer API.

    No signal receivers: the lifecycle lives in services, and the audit catalogue entries are
    registered here.
    """

    name = "verification"
    verbose_name = "Verification"

    def ready(self) -> None:
        from audit.catalogue import register
        from verification.audit_events import EVENTS

        register(EVENTS)
