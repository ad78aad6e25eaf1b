from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Flagged cases, investigations, the triage queue and the due-process gate.

    No signal receivers. `ready` registers the audit actions of the case services and the legal
    hold that open investigations put on the verification records they cite (privacy registry),
    tells the privacy registry that case links (and flagged cases built only from them) are
    copies of findings, destroyed with them under retention, and tells the audit's anomaly rules
    which subjects each user is assigned to. It also listens for crossref's "a run finished"
    (`crossref.finished`), queueing the finding ingest as soon as a run's last partition commits.
    """

    name = "cases"
    verbose_name = "Cases and triage"

    def ready(self) -> None:
        # Imports inside: the models and the registries of lower apps load only once the app
        # registry is ready; this is where an app registers with the apps below it (DESIGN.md).
        from audit.anomalies import register_assignment_resolver
        from audit.catalogue import register
        from cases.audit_events import EVENTS
        from cases.holds import register_holds
        from cases.selectors import audit_assigned_subjects

        register(EVENTS)
        register_holds()
        from cases.tasks import run_finished
        from crossref import finished

        finished.register(run_finished)
        from cases.privacy_sources import finding_links_purge
        from privacy import registry

        registry.register_derived_purger("crossref.finding", finding_links_purge)
        # The audit's "access outside assignments" rule asks cases who is assigned to whom.
        register_assignment_resolver(audit_assigned_subjects)
        # Row history catches writes that bypass the services (admin, shell, bulk updates).
        from audit.history import track

        for label in ("cases.Case", "cases.RoutingRule", "cases.Suppression", "cases.CaseTask"):
            track(label)
