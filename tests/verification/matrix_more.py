"""Authorization-matrix entries of the employer portal, the employer API's bulk routes, webhooks and notices.

No persona of the matrix acts for an employer (agency staff never do), so every portal screen
answers them 404, the same as for a missing employer; POST-only routes refuse a GET (405). The
portal's own people and an attacker's URLs are tested in tests/verification/test_portal.py.
"""

from __future__ import annotations

from tests.privacy.authmatrix import PERSONAS, SIGNED_IN, Route, page

MISSING = 999999
_E = {"employer_id": MISSING}
_EP = {"employer_id": MISSING, "pk": MISSING}


def _portal(**kwargs: object) -> Route:
    return page(dict.fromkeys(SIGNED_IN, 404), kwargs=kwargs)


def _portal_post(**kwargs: object) -> Route:
    return page(dict.fromkeys(SIGNED_IN, 405), kwargs=kwargs)


def _api(answer: int, **options: object) -> Route:
    return Route(expect={**dict.fromkeys(PERSONAS, 401), "api_key": answer}, api=True, **options)  # type: ignore[arg-type]


EXPECTATIONS: dict[str, Route] = {
    "verification:employer-admin-invite": _portal_post(pk=MISSING),
    "portal:home": _portal(),
    "portal:case-list": _portal(**_E),
    "portal:case-new": _portal(**_E),
    "portal:case-detail": _portal(**_EP),
    "portal:case-notice": _portal_post(**_EP),
    "portal:case-decision": _portal_post(**_EP),
    "portal:case-refer": _portal_post(**_EP),
    "portal:case-close": _portal_post(**_EP),
    "portal:case-resubmit": _portal(**_EP),
    "portal:import-list": _portal(**_E),
    "portal:import-detail": _portal(**_EP),
    "portal:import-choice": _portal_post(**_EP),
    "portal:admin": _portal(**_E),
    "portal:person-invite": _portal_post(**_E),
    "portal:person-grant": _portal_post(**_E),
    "portal:person-revoke": _portal_post(**_EP),
    "portal:key-issue": _portal_post(**_E),
    "portal:key-rotate": _portal_post(**_EP),
    "portal:key-revoke": _portal_post(**_EP),
    "api-cases-batch": _api(405),
    "api-key-info": _api(200),
    "api-import-detail": _api(404, kwargs={"pk": "x"}),
    "api-case-resubmit": _api(405, kwargs={"pk": "x"}),
    # Notices (issue 21): a missing case is refused as a forbidden one.
    "verification:case-notice": page(
        dict.fromkeys(SIGNED_IN, 404), kwargs={"pk": MISSING, "kind": "fan"}
    ),
    "api-case-notice-pdf": _api(404, kwargs={"pk": "x", "kind": "fan"}),
    # Webhooks (issue 20 §3): admins (who manage employers) only; POST-only actions refuse a GET.
    "verification:webhook-subscriptions": page({"adam"}),
    "verification:webhook-subscription-new": _portal_post(),
    "verification:webhook-rotate": _portal_post(pk=MISSING),
    "verification:webhook-delete": _portal_post(pk=MISSING),
    "verification:webhook-allowance-add": _portal_post(),
    "verification:webhook-allowance-remove": _portal_post(pk=MISSING),
    "verification:webhook-deliveries": page({"adam"}),
    "verification:webhook-delivery": page({"adam": 404}, kwargs={"pk": MISSING}),
    "verification:webhook-replay": _portal_post(pk=MISSING),
    "api-webhook-subscriptions": _api(200),
    "api-webhook-subscription": _api(404, kwargs={"pk": "x"}),
    "api-webhook-rotate": _api(405, kwargs={"pk": "x"}),
    "api-webhook-ping": _api(405, kwargs={"pk": "x"}),
    "api-webhook-deliveries": _api(200),
    "api-webhook-delivery": _api(404, kwargs={"pk": "x"}),
}
