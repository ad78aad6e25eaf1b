from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Flagged cases, investigations, the triage queue and the due-process gate.

    No signal receivers. `ready` registers the audit actions of the case services and the legal
    hold that open investigations put on the verification records they cite (privacy registry).
    """

    name = "cases"
    verbose_name = "Cases and triage"

    def ready(self) -> None:
        from audit.catalogue import register
        from cases.audit_events import EVENTS
        from cases.holds import register_holds

        register(EVENTS)
        register_holds()
