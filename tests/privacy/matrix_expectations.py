"""Authorization-matrix expectations of the privacy, accounts, core and Django admin routes.

Other apps keep theirs in `tests/<app>/matrix.py` (see tests/privacy/authmatrix.py for the format).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from privacy.services.mail import unsubscribe_token
from tests.privacy.authmatrix import (
    ADMIN_LOGIN,
    LOGIN,
    PERSONAS,
    REDIRECT,
    SIGNED_IN,
    Route,
    RouteInfo,
    page,
    public,
)

ADMIN = {"adam"}
READERS = {"adam", "sam", "audrey"}  # agreements and the accounting: admins, supervisors, auditors
STAFF = {"adam", "sam"}  # Privacy Act requests: admins and supervisors
BREAK_GLASS = {
    "alice",
    "bob",
    "sam",
    "vera",
    "sally",
    "petra",
    "eddie",
}  # home analysts, supervisors and status verifiers
SUBJECT_NAME = "Zebulon Quartermaine"


def build(world: dict[str, Any]) -> None:
    """Objects the privacy routes point at, and the privacy secrets."""
    from privacy import services
    from privacy.models import RecertificationItem

    adam, sam, petra = world["adam"], world["sam"], world["petra"]
    world["agreement"] = world["partner_agreements"]["uscis"]
    world["grant"] = petra.grants.first()
    world["campaign"] = services.campaign_open(
        actor=adam, name="Matrix campaign", deadline=timezone.localdate() + timedelta(days=10)
    )
    world["recert_item"] = RecertificationItem.objects.filter(campaign=world["campaign"]).first()
    world["subject_request"] = services.subject_request_create(
        actor=adam,
        kind="access",
        first_name="Zebulon",
        last_name="Quartermaine",
        date_of_birth=date(1971, 3, 9),
        contact_address="9 Elm St, Dallas TX",
        ssn="",
    )
    world["hold"] = services.legal_hold_place(
        actor=adam, reason="Matrix hold", person_ref="person:matrix"
    )
    world["purge"] = services.purge_preview(actor=adam)
    world["break_glass"] = services.break_glass_open(
        actor=world["bob"],
        subject_ref="case:matrix",
        justification="Matrix test: the case agent is away this week.",
    )
    world["notification"] = services.notify(user=sam, title="Matrix note", email=False)
    # Single sign-on (off, so no provider is contacted), a mapping, a request for access.
    ice = world["directory"]["ice"]
    provider = services.sso_provider_save(
        actor=adam,
        agency=ice,
        issuer="https://login.ice.example/openid",
        client_id="crosscheck",
        client_secret="matrix-secret",
        enabled=False,
        unit_claim="ou",
    )
    world["sso_mapping"] = services.sso_mapping_save(
        actor=adam, provider=provider, value="WS-A", unit=world["directory"]["unit_a"]
    )
    world["access_request"] = services.access_request_submit(
        actor=world["bob"], roles=["supervisor"], justification="Matrix: acting supervisor."
    )
    world["unsubscribe"] = unsubscribe_token(user=sam, kinds=["reminder"])
    # who may ever read the requester's name: privacy staff (and auditors, who read requests)
    world["secrets"][SUBJECT_NAME] = {"adam", "sam", "audrey"}


def _pk(key: str) -> Any:
    return lambda w: {"pk": w[key].pk}


def _post_only(allowed: set[str], **options: Any) -> Route:
    """A POST-only action behind a role check: its roles get 405 for a GET, the others 403."""
    return page(dict.fromkeys(allowed, 405), **options)


EXPECTATIONS: dict[str, Route] = {
    # --- core and accounts ---------------------------------------------------------------
    "home": page(SIGNED_IN),
    "healthz": public(200),
    "login": Route(expect={"anonymous": 200, "api_key": 200}, default=REDIRECT),
    "logout": public(405),
    "invitation-accept": public(404, kwargs={"token": "not-a-real-invitation"}),
    "otp-enrol": page(
        dict.fromkeys(SIGNED_IN, REDIRECT)
    ),  # everyone here has an authenticator already
    "otp-verify": page(SIGNED_IN),
    "otp-recovery-codes": page(dict.fromkeys(SIGNED_IN, 405)),
    "password_reset": public(200),
    "password_reset_done": public(200),
    "password_reset_confirm": public(200, kwargs={"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": public(200),
    "sso-start": public(404, kwargs={"agency": "ice-hsi"}),  # its provider is off
    "sso-callback": public(403),  # no sign-in was started: refused (and audited)
    "mail-unsubscribe": public(400, kwargs={"token": "not-a-valid-token"}),
    "api-schema": public(200),
    "api-docs": public(200),
    # --- directory -----------------------------------------------------------------------
    "privacy:agency-list": page(ADMIN),
    "privacy:agency-create": page(ADMIN),
    "privacy:agency-edit": page(ADMIN, kwargs=lambda w: {"pk": w["directory"]["twc"].pk}),
    "privacy:unit-create": page(ADMIN),
    "privacy:unit-edit": page(ADMIN, kwargs=lambda w: {"pk": w["directory"]["unit_a"].pk}),
    "privacy:user-list": page(ADMIN),
    "privacy:user-invite": page(ADMIN),
    "privacy:user-detail": page(ADMIN, kwargs=_pk("petra")),
    "privacy:user-edit": page(ADMIN, kwargs=_pk("petra")),
    "privacy:user-deactivate": _post_only(ADMIN, kwargs=_pk("petra")),
    "privacy:user-reactivate": _post_only(ADMIN, kwargs=_pk("petra")),
    "privacy:grant-create": _post_only(ADMIN, kwargs=_pk("petra")),
    "privacy:grant-revoke": _post_only(ADMIN, kwargs=_pk("grant")),
    "privacy:sso-provider": page(ADMIN, kwargs=lambda w: {"pk": w["directory"]["ice"].pk}),
    "privacy:sso-mapping-add": _post_only(ADMIN, kwargs=lambda w: {"pk": w["directory"]["ice"].pk}),
    "privacy:sso-mapping-delete": _post_only(ADMIN, kwargs=_pk("sso_mapping")),
    "privacy:access-request-list": page(ADMIN),
    "privacy:access-request-decide": _post_only(ADMIN, kwargs=_pk("access_request")),
    # --- agreements ----------------------------------------------------------------------
    "privacy:agreement-list": page(READERS),
    "privacy:agreement-create": page(ADMIN),
    "privacy:agreement-detail": page(READERS, kwargs=_pk("agreement")),
    "privacy:agreement-edit": page(ADMIN, kwargs=_pk("agreement")),
    "privacy:agreement-document": _post_only(ADMIN, kwargs=_pk("agreement")),
    "privacy:agreement-document-download": page(
        dict.fromkeys(READERS, 404), kwargs=_pk("agreement")
    ),  # none uploaded
    "privacy:agreement-transition": _post_only(
        ADMIN, kwargs=lambda w: {"pk": w["agreement"].pk, "step": "suspend"}
    ),
    # --- recertification -----------------------------------------------------------------
    "privacy:campaign-list": page(STAFF),
    "privacy:campaign-detail": page(STAFF, kwargs=_pk("campaign")),
    "privacy:recertification-decide": _post_only({"sam"}, kwargs=_pk("recert_item")),
    # --- Privacy Act requests and the accounting -----------------------------------------
    "privacy:subject-request-list": page(STAFF),
    "privacy:subject-request-create": page(STAFF),
    "privacy:subject-request-detail": page(STAFF, kwargs=_pk("subject_request")),
    "privacy:subject-request-respond": _post_only(STAFF, kwargs=_pk("subject_request")),
    "privacy:subject-request-step": _post_only(
        STAFF, kwargs=lambda w: {"pk": w["subject_request"].pk, "step": "acknowledge"}
    ),
    "privacy:disclosure-report": page(READERS, query="person=person:matrix"),
    # --- retention -----------------------------------------------------------------------
    "privacy:retention": page(ADMIN),
    "privacy:hold-place": _post_only(ADMIN),
    "privacy:hold-release": _post_only(ADMIN, kwargs=_pk("hold")),
    "privacy:purge-preview": _post_only(ADMIN),
    "privacy:purge-detail": page(ADMIN, kwargs=_pk("purge")),
    "privacy:purge-approve": _post_only(ADMIN, kwargs=_pk("purge")),
    # --- break-glass, my access, notifications -------------------------------------------
    "privacy:break-glass": page(BREAK_GLASS, query="subject=case:1"),
    "privacy:break-glass-list": page({"sam", "audrey", "adam"}),
    "privacy:break-glass-review": _post_only({"sam"}, kwargs=_pk("break_glass")),
    "privacy:my-access": page(SIGNED_IN),
    "privacy:notification-list": page(SIGNED_IN),
    "privacy:mail-preferences": page(SIGNED_IN),
    "privacy:access-request": page(SIGNED_IN),
    "privacy:notification-read": page(dict.fromkeys(SIGNED_IN, 405), kwargs=_pk("notification")),
}

# POSTs that show the same rules with a real submission (rolled back after each cell).
EXPECTATIONS["privacy:notification-read POST"] = page(
    {**dict.fromkeys(SIGNED_IN, 404), "sam": REDIRECT}, method="POST", kwargs=_pk("notification")
)
# The signed link works for anyone who holds it, signed in or not (it names sam and one kind).
EXPECTATIONS["mail-unsubscribe POST"] = public(
    200, method="POST", kwargs=lambda w: {"token": w["unsubscribe"]}
)
EXPECTATIONS["privacy:access-request-decide POST"] = page(
    {"adam": REDIRECT}, method="POST", kwargs=_pk("access_request"), data={"approve": "1"}
)
EXPECTATIONS["privacy:grant-revoke POST"] = page(
    {"adam": REDIRECT}, method="POST", kwargs=_pk("grant"), data={"reason": "Matrix"}
)
EXPECTATIONS["privacy:subject-request-step POST"] = page(
    {"adam": REDIRECT, "sam": REDIRECT},
    method="POST",
    kwargs=lambda w: {"pk": w["subject_request"].pk, "step": "acknowledge"},
)


# --- Django's admin site: one rule for the whole family -------------------------------------------
# The admin site is the superuser's fallback (the privacy screens above are the real admin
# screens): adam is staff with a verified second factor but holds no model permissions, so he
# reaches the index and his own password page, and is refused every model page. Everyone else
# is sent to the admin sign-in.

_OUTSIDERS = dict.fromkeys(PERSONAS, ADMIN_LOGIN)
_ADMIN_SPECIAL: dict[str, dict[str, Any]] = {
    "admin:index": {**_OUTSIDERS, "adam": 200},
    "admin:password_change": {**_OUTSIDERS, "adam": 200},
    "admin:password_change_done": {**_OUTSIDERS, "adam": 200},
    "admin:jsi18n": {**_OUTSIDERS, "adam": 200},
    "admin:login": {
        "anonymous": 200,
        "api_key": 200,
        "adam": REDIRECT,
        **dict.fromkeys(SIGNED_IN - {"adam"}, 200),
    },
    "admin:logout": {**dict.fromkeys(PERSONAS, REDIRECT), "adam": 405},
    "admin:view_on_site": {**_OUTSIDERS, "adam": 404},
    "admin:autocomplete": {**_OUTSIDERS, "adam": 403},
    "admin:app_list": {**_OUTSIDERS, "adam": 404},  # no model of the app is his to see
}


def _admin_kwargs(info: RouteInfo) -> Any:
    def build(world: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in info.converters:
            if name == "app_label":
                out[name] = "privacy"
            elif name == "content_type_id":
                out[name] = 1
            elif info.name and info.name.startswith("admin:otp_totp_totpdevice_") and name == "pk":
                from django_otp.plugins.otp_totp.models import TOTPDevice

                out[name] = (
                    TOTPDevice.objects.filter(user=world["adam"])
                    .values_list("pk", flat=True)
                    .first()
                )
            else:
                out[name] = "0"
        return out

    return build


def admin_rule(info: RouteInfo) -> Route | None:
    """Django's admin site (see above): every model page answers adam 403, outsiders the admin sign-in."""
    if info.name is None and info.route.startswith("admin/"):
        if "(?P<url>" in info.route:  # the admin's catch-all: unknown admin pages
            return Route(expect={**_OUTSIDERS, "adam": 404}, path="/admin/no-such-page/")
        # "<object_id>/" of a model: redirects staff to the object's change page
        return Route(
            expect={**_OUTSIDERS, "adam": REDIRECT},
            path="/" + info.route.replace("<path:object_id>", "0"),
        )
    if not (info.name or "").startswith("admin:"):
        return None
    default = {
        **_OUTSIDERS,
        "adam": REDIRECT if info.name.endswith("_history") else 403,
    }  # a missing object's history
    expect = _ADMIN_SPECIAL.get(info.name or "", default)
    return Route(expect=expect, default=ADMIN_LOGIN, kwargs=_admin_kwargs(info))


__all__ = ["EXPECTATIONS", "LOGIN", "build"]


# --- The privacy API: people with a verified second factor; no session = 403 (DRF session auth) --
def _privacy_api(allowed: dict[str, Any] | set[str] | frozenset[str], **options: Any) -> Route:
    expect = dict.fromkeys(allowed, 200) if isinstance(allowed, set | frozenset) else dict(allowed)
    return Route(
        expect={"anonymous": 403, "api_key": 403, **expect}, default=403, api=True, **options
    )


EXPECTATIONS.update(
    {
        "privacy-api:agreement-list": _privacy_api(READERS),
        "privacy-api:agreement-detail": _privacy_api(READERS, kwargs=_pk("agreement")),
        "privacy-api:disclosure-report": _privacy_api(READERS, query="person=person:matrix"),
        "privacy-api:my-access": _privacy_api(SIGNED_IN),
        "privacy-api:break-glass": _privacy_api(dict.fromkeys(BREAK_GLASS, 405)),
    }
)
