from django.apps import AppConfig

AUDIT_EVENTS = {
    # Directory and user lifecycle
    "directory.user_invited": "A user was provisioned by invitation (AC-2).",
    "directory.invitation_accepted": "An invitee set a password; 2FA enrolment follows (AC-2, IA-2).",
    "directory.user_deactivated": "A user was deactivated and every session of theirs ended (AC-2).",
    "directory.agency_saved": "An agency was created or changed.",
    "directory.unit_saved": "A unit was created or changed.",
    # Agreements and grants
    "agreement.created": "An inter-agency agreement was drafted.",
    "agreement.changed": "The terms of a draft agreement changed.",
    "agreement.approved": "The Data Integrity Board approved a matching agreement (CMPPA).",
    "agreement.activated": "An agreement came into force: grants under it start working.",
    "agreement.suspended": "An agreement was suspended: access under it stops at the next request.",
    "agreement.resumed": "A suspension was lifted.",
    "agreement.terminated": "An agreement was ended for good.",
    "agreement.renewed": "An agreement's end date was extended (CMPPA: once, at most 12 months).",
    "agreement.expired": "An agreement passed its end date.",
    "agreement.expiry_warned": "Admins were warned that an agreement will expire.",
    "agreement.document_uploaded": "The signed agreement was uploaded.",
    "grant.created": "A role grant was given (AC-2).",
    "grant.revoked": "A role grant was revoked.",
    "grant.lapsed": "A grant lapsed, unconfirmed at a recertification deadline (AC-2(3)).",
    "grant.object_permissions_removed": "Per-object permissions no grant backs were removed by the nightly tidy-up.",
    "recertification.opened": "An access recertification campaign opened.",
    "recertification.decided": "A supervisor confirmed or revoked a grant.",
    "recertification.closed": "A campaign closed at its deadline.",
    # Sensitive access
    "identifier.revealed": "A full identifier was shown, with its stated purpose.",
    "access.anomaly": "Too many reveals or SSN searches in a minute: for supervisors' review.",
    "access.break_glass_opened": "Break-glass access outside assignments was opened: for supervisors' review.",
    "access.break_glass_used": "Break-glass access was used: for supervisors' review.",
    "access.break_glass_reviewed": "A supervisor reviewed break-glass use.",
    # Privacy Act requests
    "subject_request.received": "A Privacy Act access or amendment request was taken in (552a(d)).",
    "subject_request.matched": "Records about the requester were searched across the registry.",
    "subject_request.identity_verified": "The requester's identity was verified.",
    "subject_request.acknowledged": "The request was acknowledged (10 working days).",
    "subject_request.paused": "The request's clock was stopped.",
    "subject_request.resumed": "The request's clock restarted.",
    "subject_request.responded": "The access package was sent.",
    "subject_request.amendment_decided": "An amendment was granted (and applied) or refused.",
    "subject_request.disagreement_filed": "A statement of disagreement was filed ((d)(3)).",
    "subject_request.closed": "A request was closed.",
    "disclosure.report_viewed": "An accounting of disclosures was read or printed.",
    # Retention
    "retention.previewed": "A purge preview was computed.",
    "retention.approved": "A purge was approved.",
    "retention.batch_destroyed": "A chunk of records past retention was destroyed (tombstones left).",
    "retention.finished": "A purge run finished.",
    "retention.disclosures_purged": "Accounting entries past their own retention were destroyed.",
    "retention.hold_placed": "A legal hold was placed.",
    "retention.hold_released": "A legal hold was released.",
    "retention.schedule_saved": "A retention schedule was set.",
}

# Staff e-mail preferences, single sign-on and access requests (issue 21).
MAIL_AND_SSO_EVENTS = {
    "mail.sent": "A staff e-mail was sent at once, as the user chose for its kind.",
    "mail.queued": "A staff e-mail was queued for the user's daily digest.",
    "mail.suppressed": "A staff e-mail was held back: the user chose never for its kind.",
    "mail.digest_sent": "A user's daily digest was sent.",
    "mail.preferences_changed": "A user changed how each kind of e-mail reaches them.",
    "mail.unsubscribed": "A signed unsubscribe link stopped a kind of e-mail (no sign-in needed).",
    "grant.expiry_warned": "A grant's holder and admins were warned that it ends soon (AC-2).",
    "sso.provider_saved": "An agency's identity provider (issuer, client, claims, MFA trust) changed.",
    "sso.mapping_saved": "A claim value was mapped to a unit of the agency.",
    "sso.mapping_deleted": "A claim-to-unit mapping was removed.",
    "access_request.submitted": "A user asked for roles (AC-2).",
    "access_request.decided": "An admin approved or declined a request for roles (AC-2).",
}


class PrivacyConfig(AppConfig):
    """Agencies, users, agreements, grants and the access policy; Privacy Act duties.

    Signal receivers (STYLE.md rule 9, decoupling only): `receivers.py` turns django-axes'
    `user_locked_out` and Django's `user_logged_out` into audit events, because those actions
    happen inside third-party code that has no service to call.

    Registry: privacy registers its own personal-data source (the Privacy Act requests).
    """

    name = "privacy"
    verbose_name = "Privacy and access"

    def ready(self) -> None:
        # Imports inside: the models and the registries of lower apps load only once the app
        # registry is ready; this is where an app registers with the apps below it (DESIGN.md).
        from audit import catalogue
        from privacy import receivers, registry  # noqa: F401
        from privacy.sources import SubjectRequestSource

        catalogue.register(AUDIT_EVENTS)
        catalogue.register(MAIL_AND_SSO_EVENTS)
        registry.register(SubjectRequestSource())
        # The directory, agreements and grants decide who sees what: keep their row history
        # (audit never names a higher app's models; each app opts its own in).
        from audit.history import track

        for label in ("privacy.Agency", "privacy.Unit", "privacy.Department"):
            track(label)
        track("privacy.User", exclude=["last_login"])
        track("privacy.Agreement")
        track("privacy.RoleGrant")
