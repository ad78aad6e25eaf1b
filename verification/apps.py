from django.apps import AppConfig


class VerificationConfig(AppConfig):
    """Employers, workers, verification cases and their E-Verify lifecycle, reference sources (SSA-,
    DHS-like, enforcement subjects) with load provenance, and the employer API.

    No signal receivers: the lifecycle lives in services. verification knows nothing of the
    cross-reference engine: it announces each submitted case and its instant result through
    `verification.submitted`, which crossref fills. Here the audit catalogue entries and the
    personal-data source of the privacy registry (verification cases) are registered, and the
    domain tables are given row history.
    """

    name = "verification"
    verbose_name = "Verification"

    def ready(self) -> None:
        # Imports inside: the models and the registries of lower apps load only once the app
        # registry is ready; this is where an app registers with the apps below it (DESIGN.md).
        from audit.catalogue import register
        from verification.audit_events import EVENTS

        register(EVENTS)

        from privacy import registry
        from verification.privacy_sources import VerificationCaseSource

        registry.register(VerificationCaseSource())

        # Row history catches writes that bypass the services (admin, shell, bulk updates).
        # Identifier columns (ciphertext, blind index) are left out by name; the reference
        # tables are bulk loads, audited per load instead.
        from audit.history import track

        for label in (
            "verification.Employer",
            "verification.HiringSite",
            "verification.Worker",
            "verification.VerificationCase",
        ):
            track(label)
        track("verification.EmployerApiKey", exclude=["key_hash"])
        track("verification.WebhookSubscription", exclude=["secret_enc", "previous_secret_enc"])
        track("verification.WebhookHostAllowance")
