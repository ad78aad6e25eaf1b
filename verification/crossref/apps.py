from django.apps import AppConfig


class CrossrefConfig(AppConfig):
    """The cross-reference engine: rules, runs split into leased partitions, findings.

    No signal receivers. `ready` registers the engine's audit actions and loads the rule
    registry (rules register themselves when their modules are imported).
    """

    name = "verification.crossref"
    label = "crossref"
    verbose_name = "Cross-reference engine"

    def ready(self) -> None:
        from audit.catalogue import register
        from verification.crossref import rules  # noqa: F401  (fills the registry)

        register(
            {
                "crossref.run_started": "A matching run began, under an agreement (CMPPA).",
                "crossref.run_refused": "A matching run was refused: no agreement covers its data.",
                "crossref.run_cancelled": "A matching run was cancelled by a user.",
                "crossref.run_finished": "A matching run ended; its findings are committed.",
                "crossref.schedule_changed": "A scheduled matching run was created or changed.",
                "crossref.finding_feedback": "Triage fed an outcome back to a rule's quality counts.",
            }
        )
