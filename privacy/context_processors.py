"""The role-aware navigation of the base layout."""

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
    ("Verification cases", "verification:case-list", {"status_verifier", "analyst", "supervisor"}),
    ("Cross-reference runs", "crossref:run-list", {"admin", "supervisor"}),
    ("Employers", "verification:employer-list", {"admin"}),
    ("Audit trail", "audit:browser", {"supervisor", "auditor"}),
    ("Audit review", "audit:review", {"supervisor"}),
    ("Agreements", "privacy:agreement-list", {"admin", "supervisor", "auditor"}),
    ("Users and grants", "privacy:user-list", {"admin"}),
    ("Subject requests", "privacy:subject-request-list", {"admin", "supervisor"}),
    ("Recertification", "privacy:campaign-list", {"admin", "supervisor"}),
    ("Break-glass", "privacy:break-glass-list", {"supervisor", "auditor"}),
    ("Agencies", "privacy:agency-list", {"admin"}),
    ("Retention", "privacy:retention", {"admin"}),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Navigation entries the current user's roles may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    roles = set(user.roles or [])
    items = []
    for label, name, allowed in NAVIGATION:
        if allowed and not (allowed & roles):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": label,
                "url": url,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )

    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    items.append(
        {
            "label": f"Notifications ({unread})" if unread else "Notifications",
            "url": reverse("privacy:notification-list"),
            "active": request.path == reverse("privacy:notification-list"),
        }
    )
    return {"nav_items": items}
