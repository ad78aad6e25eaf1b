"""Markers that middleware further up the app order reads: on a view, and on the response being built.

They live at the bottom of the app order so that any app's views can carry them without
importing the app whose middleware acts on them: privacy's middleware keeps every response that
shows personal data out of browser and proxy caches (`Cache-Control: no-store`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def personal_data(view: F) -> F:
    """Mark a view (or an API view class) that shows personal data: its answers are never stored."""
    view.personal_data = True  # type: ignore[attr-defined]
    return view


def shows_personal_data(view: Callable[..., Any]) -> bool:
    """True for a view marked `personal_data` (for DRF, its class)."""
    return bool(
        getattr(view, "personal_data", False)
        or getattr(getattr(view, "cls", None), "personal_data", False)
    )


class ResponseMarks:
    """What the response being built turned out to hold (set while the view runs)."""

    __slots__ = ("personal_data",)

    def __init__(self) -> None:
        self.personal_data = False


_response: ContextVar[ResponseMarks | None] = ContextVar("crosscheck_response", default=None)


@contextmanager
def response_scope() -> Iterator[ResponseMarks]:
    """The marks of one request's response, for the middleware that opens it."""
    marks = ResponseMarks()
    token = _response.set(marks)
    try:
        yield marks
    finally:
        _response.reset(token)


def personal_data_shown_here() -> None:
    """Mark the response being built as one that shows personal data (the read path calls it)."""
    marks = _response.get()
    if marks is not None:
        marks.personal_data = True
