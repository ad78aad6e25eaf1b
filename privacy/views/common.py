"""What every privacy screen shares: role checks and turning domain errors into form errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.errors import DomainError, ValidationFailed
from privacy.models import User


class AuthedRequest(HttpRequest):
    """A request behind `login_required`: its user is a signed-in person."""

    user: User


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed-in users holding one of `roles` (home roles); others get 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @login_required
        @wraps(view)
        def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not set(request.user.roles or []) & set(roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def run_service(
    request: HttpRequest, form: forms.BaseForm | None, call: Callable[[], Any]
) -> tuple[bool, Any]:
    """Call a service; a validation error lands on the form, any other domain error in a message."""
    try:
        return True, call()
    except ValidationFailed as exc:
        if form is not None:
            placed = False
            for name, errors in exc.field_errors.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
        else:
            messages.error(request, exc.message)
        return False, None
    except DomainError as exc:
        messages.error(request, exc.message or exc.code)
        if form is not None:
            form.add_error(None, exc.message or exc.code)
        return False, None
