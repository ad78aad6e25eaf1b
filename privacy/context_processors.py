"""The role-aware navigation of the base layout: a few groups, so no role's menu wraps."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from privacy.models import Notification

# (label, url name, roles that see it); entries whose url is not built yet are left out.
NAVIGATION: list[tuple[str, str, set[str]]] = [
    ("Home", "home", set()),
    ("Employer portal", "portal:home", {"employer_admin", "employer_user"}),
    ("Triage queue", "cases:queue", {"analyst", "supervisor"}),
    ("Investigations", "cases:investigations", {"analyst", "supervisor"}),
    ("Person search", "cases:search", {"analyst", "supervisor"}),
    ("Charts", "cases:dashboard", {"analyst", "supervisor"}),
    ("Verification cases", "verification:case-list", {"status_verifier", "analyst", "supervisor"}),
    ("Cross-reference runs", "crossref:run-list", {"admin", "supervisor"}),
    ("Rule quality", "crossref:quality", {"admin", "supervisor"}),
    ("Employers", "verification:employer-list", {"admin"}),
    ("Audit trail", "audit:browser", {"supervisor", "auditor"}),
    ("Audit review", "audit:review", {"supervisor"}),
    ("Chain status", "audit:status", {"supervisor", "auditor"}),
    ("Agreements", "privacy:agreement-list", {"admin", "supervisor", "auditor"}),
    ("Users and grants", "privacy:user-list", {"admin"}),
    ("Subject requests", "privacy:subject-request-list", {"admin", "supervisor"}),
    ("Recertification", "privacy:campaign-list", {"admin", "supervisor"}),
    ("Break-glass", "privacy:break-glass-list", {"supervisor", "auditor"}),
    ("Agencies", "privacy:agency-list", {"admin"}),
    ("Retention", "privacy:retention", {"admin"}),
]

# The menu a url name sits under; entries not named here go under "More", so a new screen shows
# up without touching this table. "Home" stands alone.
NAV_GROUPS: dict[str, str] = {
    "cases:queue": "Casework",
    "cases:investigations": "Casework",
    "cases:search": "Casework",
    "cases:dashboard": "Casework",
    "verification:case-list": "Casework",
    "crossref:run-list": "Matching",
    "crossref:quality": "Matching",
    "verification:employer-list": "Matching",
    "audit:browser": "Oversight",
    "audit:review": "Oversight",
    "audit:status": "Oversight",
    "privacy:break-glass-list": "Oversight",
    "privacy:agreement-list": "Privacy and access",
    "privacy:user-list": "Privacy and access",
    "privacy:subject-request-list": "Privacy and access",
    "privacy:campaign-list": "Privacy and access",
    "privacy:agency-list": "Privacy and access",
    "privacy:retention": "Privacy and access",
}
GROUP_ORDER = ["Casework", "Matching", "Oversight", "Privacy and access", "More"]
# Sections whose pages are read one after another: their pages also show a USWDS side navigation
# of the section (when the user has more than one page of it). Casework keeps its full width.
SIDE_NAV_GROUPS = {"Oversight", "Privacy and access"}


def _is_active(path: str, url: str) -> bool:
    return path == url or (url != "/" and path.startswith(url))


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Navigation entries the current user's roles may use, flat and grouped into menus."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_groups": [], "nav_section": None, "nav_unread": 0}
    roles = set(user.roles or [])
    items: list[dict[str, Any]] = []
    grouped: dict[str, list[dict[str, Any]]] = {}
    for label, name, allowed in NAVIGATION:
        if allowed and not (allowed & roles):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        item = {"label": label, "url": url, "active": _is_active(request.path, url)}
        items.append(item)
        if name != "home":
            grouped.setdefault(NAV_GROUPS.get(name, "More"), []).append(item)

    # One current page: the entry whose address matches the most (/audit/review/, not /audit/).
    current = max((i for i in items if i["active"]), key=lambda i: len(i["url"]), default=None)
    for item in items:
        item["active"] = item is current

    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    notifications_url = reverse("privacy:notification-list")
    items.append(
        {
            "label": f"Notifications ({unread})" if unread else "Notifications",
            "url": notifications_url,
            "active": request.path == notifications_url,
        }
    )
    groups: list[dict[str, Any]] = [
        {
            "label": label,
            "id": "nav-" + label.lower().replace(" ", "-"),
            "items": grouped[label],
            "active": any(i["active"] for i in grouped[label]),
        }
        for label in GROUP_ORDER
        if label in grouped
    ]
    section = next(
        (
            g
            for g in groups
            if g["active"] and g["label"] in SIDE_NAV_GROUPS and len(g["items"]) > 1
        ),
        None,
    )
    return {
        "nav_items": items,
        "nav_groups": groups,
        "nav_section": section,
        "nav_unread": unread,
        "nav_notifications_url": notifications_url,
    }
