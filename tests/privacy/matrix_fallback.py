"""Role-level expectations for the other apps' routes, until each app keeps its own table.

These cells were written from the access rules of DESIGN.md and issue 6 at the role level, with
missing objects (pk 999999): they pin who reaches each screen, that a missing object answers the
same as a forbidden one, and that POST-only actions refuse a GET. An entry in
`tests/<app>/matrix.py` with the same key replaces the one here (with real objects and secrets).
"""

from __future__ import annotations

from typing import Any

from tests.privacy.authmatrix import PERSONAS, REDIRECT, SIGNED_IN, Route, page, public

MISSING = 999999
CASE_WORKERS = {
    "alice",
    "bob",
    "sam",
    "petra",
    "eddie",
}  # analysts and supervisors (partners on their home data)
AUDIT_READERS = {"sam", "audrey"}
MATCHING = {"sam", "adam"}  # cross-reference runs: supervisors and admins
VERIFICATION_READERS = {
    "adam",
    "petra",
}  # USCIS at home; TWC under its MOU (ICE has no agreement in the fixtures)


def _missing(*names: str) -> Any:
    return dict.fromkeys(names, MISSING)


def _get_refused(**options: Any) -> Route:
    """A POST-only route: every signed-in persona gets 405 for a GET."""
    return page(dict.fromkeys(SIGNED_IN, 405), **options)


def api_key(world: dict[str, Any]) -> str:
    """An employer's live API key (used unless an app's table issues one)."""
    from datetime import date

    from verification import services

    employer = services.employer_enrol(
        actor=world["adam"],
        ein="55-0000001",
        name="Matrix Farms",
        naics="111998",
        state="TX",
        mou_signed_on=date(2024, 1, 5),
    )
    _, raw = services.apikey_issue(actor=world["adam"], employer=employer, label="matrix")
    return raw


def _api(api_key_answer: Any, **options: Any) -> Route:
    """An employer-API route: people's sessions do not authenticate it (401); the key gets its answer."""
    return Route(
        expect={**dict.fromkeys(PERSONAS, 401), "api_key": api_key_answer}, api=True, **options
    )


FALLBACK: dict[str, Route] = {
    # --- audit ---------------------------------------------------------------------------------
    "audit:browser": page(AUDIT_READERS),
    "audit:event": page(dict.fromkeys(AUDIT_READERS, 404), kwargs=_missing("pk")),
    "audit:timeline": page(dict.fromkeys(AUDIT_READERS, 404), kwargs=_missing("user_id")),
    "audit:export": page(AUDIT_READERS),
    "audit:review": page({"sam"}),
    "audit:status": page(AUDIT_READERS),
    "audit:verify": _get_refused(),
    "audit:checkpoint-key": public(200),  # a public key, published on purpose
    # --- cases ---------------------------------------------------------------------------------
    "cases:queue": page(CASE_WORKERS),
    "cases:bulk": _get_refused(),
    "cases:export": page(CASE_WORKERS),
    "cases:view-save": _get_refused(),
    "cases:view-delete": _get_refused(kwargs=_missing("pk")),
    "cases:next": page(dict.fromkeys(CASE_WORKERS, REDIRECT)),
    "cases:investigations": page(CASE_WORKERS),
    "cases:search": page(CASE_WORKERS),
    "cases:dashboard": page(CASE_WORKERS),
    "cases:notifications": page(SIGNED_IN),
    "cases:detail": page(dict.fromkeys(CASE_WORKERS, 404), kwargs=_missing("pk")),
    "cases:action": _get_refused(kwargs={"pk": MISSING, "action": "assign"}),
    "cases:evidence-upload": _get_refused(kwargs=_missing("pk")),
    "cases:notice": page(dict.fromkeys(SIGNED_IN, 404), kwargs=_missing("pk")),
    "cases:evidence-download": page(dict.fromkeys(SIGNED_IN, 404), kwargs=_missing("pk")),
    "cases:task-done": _get_refused(kwargs=_missing("pk")),
    # --- verification --------------------------------------------------------------------------
    "verification:case-list": page(VERIFICATION_READERS),
    "verification:case-detail": page(dict.fromkeys(SIGNED_IN, 404), kwargs=_missing("pk")),
    "verification:case-resolve": _get_refused(kwargs=_missing("pk")),
    "verification:case-contact": _get_refused(kwargs=_missing("pk")),
    "verification:case-reveal": _get_refused(kwargs=_missing("pk")),
    "verification:case-notice": page(
        dict.fromkeys(SIGNED_IN, 404), kwargs={"pk": MISSING, "kind": "fan"}
    ),
    "verification:case-reveal POST": page(
        dict.fromkeys(SIGNED_IN, 404),
        method="POST",
        kwargs=_missing("pk"),
        data={"field": "ssn", "reason": "Matrix: confirming the number"},
    ),
    "verification:employer-list": page({"adam"}),
    "verification:employer-new": page({"adam"}),
    "verification:employer-detail": page({"adam": 404}, kwargs=_missing("pk")),
    "verification:site-new": _get_refused(kwargs=_missing("pk")),
    "verification:apikey-new": _get_refused(kwargs=_missing("pk")),
    "verification:apikey-rotate": _get_refused(kwargs=_missing("pk")),
    "verification:apikey-revoke": _get_refused(kwargs=_missing("pk")),
    # webhooks (issue 20 §3): admins (who manage employers) only
    "verification:webhook-subscriptions": page({"adam"}),
    "verification:webhook-subscription-new": _get_refused(),
    "verification:webhook-rotate": _get_refused(kwargs=_missing("pk")),
    "verification:webhook-delete": _get_refused(kwargs=_missing("pk")),
    "verification:webhook-allowance-add": _get_refused(),
    "verification:webhook-allowance-remove": _get_refused(kwargs=_missing("pk")),
    "verification:webhook-deliveries": page({"adam"}),
    "verification:webhook-delivery": page({"adam": 404}, kwargs=_missing("pk")),
    "verification:webhook-replay": _get_refused(kwargs=_missing("pk")),
    # --- cross-reference runs ------------------------------------------------------------------
    "crossref:run-list": page(MATCHING),
    "crossref:run-detail": page(dict.fromkeys(MATCHING, 404), kwargs=_missing("pk")),
    "crossref:run-progress": page(dict.fromkeys(MATCHING, 404), kwargs=_missing("pk")),
    "crossref:run-cancel": _get_refused(kwargs=_missing("pk")),
    "crossref:quality": page(MATCHING),
    # --- the employer API ----------------------------------------------------------------------
    "api-cases": _api(200),
    "api-case-detail": _api(404, kwargs={"pk": "x"}),
    "api-case-submit-draft": _api(405, kwargs={"pk": "x"}),
    "api-case-notice": _api(405, kwargs={"pk": "x"}),
    "api-case-notice-pdf": _api(404, kwargs={"pk": "x", "kind": "fan"}),
    "api-case-decision": _api(405, kwargs={"pk": "x"}),
    "api-case-refer": _api(405, kwargs={"pk": "x"}),
    "api-case-close": _api(405, kwargs={"pk": "x"}),
    "api-webhook-subscriptions": _api(200),
    "api-webhook-subscription": _api(404, kwargs={"pk": "x"}),
    "api-webhook-rotate": _api(405, kwargs={"pk": "x"}),
    "api-webhook-ping": _api(405, kwargs={"pk": "x"}),
    "api-webhook-deliveries": _api(200),
    "api-webhook-delivery": _api(404, kwargs={"pk": "x"}),
    "api/v1/^.*$": public(404, path="/api/v1/no-such-thing/"),
}
