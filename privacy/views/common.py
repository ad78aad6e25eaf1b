"""What every privacy screen shares: turning domain errors into form errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from core.errors import DomainError, ValidationFailed


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
