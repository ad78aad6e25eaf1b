"""The one role guard of the app: screens use `roles_required`, API views `HasRole`.

Both ask `holds_role` (a home role among those named; roles over another agency's data come from
grants and agreements, decided by `privacy.policy`, not here). It lives in audit, low in the app
order, because a refusal is itself recorded (`access.denied`), and every app above can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import render
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from audit.models import Outcome
from audit.services import event_record


def holds_role(user: Any, roles: Iterable[str]) -> bool:
    """True if `user` is signed in and holds one of `roles` at home."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(set(getattr(user, "roles", None) or []) & set(roles))


def refusal_record(request: HttpRequest, roles: Iterable[str]) -> None:
    """The audit event of a refused page: who, where, which roles it needed."""
    event_record(
        action="access.denied",
        actor=request.user,
        outcome=Outcome.DENIED,
        object_type="page",
        detail={"path": request.path[:200], "needs": sorted(roles)},
    )


def roles_required(
    *roles: str, template: str = "forbidden.html"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed-in users holding one of `roles`; anyone else gets a recorded 403 page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not holds_role(request.user, roles):
                refusal_record(request, roles)
                return render(request, template, {"needs": sorted(roles)}, status=403)
            return view(request, *args, **kwargs)

        wrapper.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorate


class HasRole(BasePermission):
    """DRF: the view's `roles`, through the same `holds_role`."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return holds_role(request.user, getattr(view, "roles", ()))
