"""View markers read by the access middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def personal_data(view: F) -> F:
    """Mark a view that shows personal data: it needs a verified second factor."""
    view.personal_data = True  # type: ignore[attr-defined]
    return view
