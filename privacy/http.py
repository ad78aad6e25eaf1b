"""The request of a signed-in user, for type checking views behind `login_required`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from privacy.models import User


class AuthedRequest(HttpRequest):
    """An HttpRequest whose user is signed in (what `login_required` guarantees)."""

    user: User
    htmx: Any  # django-htmx's details, set by its middleware
