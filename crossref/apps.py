from django.apps import AppConfig


class CrossrefConfig(AppConfig):
    """The cross-reference engine: rules and their versions, runs split into leased partitions,
    findings, shadow runs and rule quality (the Data Integrity Board figures).

    No signal receivers. `ready` registers the identity rules as the listener of
    `verification.submitted` (the instant result's findings), the engine's audit actions, loads the rule
    registry (rules register themselves when their modules are imported), and tells the privacy
    registry that findings and shadow hits are derived copies of verification cases, destroyed
    with them under retention (`crossref.retention`).
    """

    name = "crossref"
    label = "crossref"
    verbose_name = "Cross-reference engine"

    def ready(self) -> None:
        # Imports inside: the models and the registries of lower apps load only once the app
        # registry is ready; this is where an app registers with the apps below it (DESIGN.md).
        from audit.catalogue import register
        from crossref import rules  # noqa: F401  (fills the registry)
        from crossref.instant import case_submitted, cases_submitted
        from crossref.retention import register as register_retention
        from verification import submitted

        register_retention()
        # verification announces each submitted case; the identity rules answer (DESIGN.md).
        submitted.register(case_submitted, many=cases_submitted)

        register(
            {
                "crossref.run_started": "A matching run began, under an agreement (CMPPA).",
                "crossref.linkage_trained": "ENF-LINK's match model was trained: a new parameter version.",
                "crossref.linkage_promoted": "A trained linkage model version was made current.",
                "crossref.run_refused": "A matching run was refused: no agreement covers its data.",
                "crossref.run_cancelled": "A matching run was cancelled by a user.",
                "crossref.run_finished": "A matching run ended; its findings are committed.",
                "crossref.schedule_changed": "A scheduled matching run was created or changed.",
                "crossref.finding_feedback": "Triage fed an outcome back to a rule's quality counts.",
            }
        )
