"""View markers: attributes on a view function that middleware further up the app order reads.

They live at the bottom of the app order so that any app's views can carry them without
importing the app whose middleware acts on them (privacy's access middleware asks for a verified
second factor on views marked `personal_data`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def personal_data(view: F) -> F:
    """Mark a view that shows personal data: it needs a verified second factor."""
    view.personal_data = True  # type: ignore[attr-defined]
    return view
