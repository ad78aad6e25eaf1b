from django.apps import AppConfig


class VerificationConfig(AppConfig):
    """Employers, workers, verification cases, reference sources and the employer API.

    No signal receivers: the lifecycle lives in services. Here the audit catalogue entries and
    the personal-data source of the privacy registry (verification cases) are registered.
    """

    name = "verification"
    verbose_name = "Verification"

    def ready(self) -> None:
        from audit.catalogue import register
        from verification.audit_events import EVENTS

        register(EVENTS)

        from privacy import registry
        from verification.privacy_sources import VerificationCaseSource

        registry.register(VerificationCaseSource())
