"""The registration point for "a case was submitted" (DESIGN.md: verification → crossref by inversion).

verification knows nothing of the cross-reference engine. An app higher in the order registers a
listener in its `AppConfig.ready`; the submit service announces each instant result to every
listener inside its own transaction, after the case and its comparisons are written, so what
the listeners write commits or rolls back with the case. crossref registers the identity rules
here (`crossref.instant.case_submitted`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from verification.instant import InstantResult


class Listener(Protocol):
    """Called once per submitted case, with the instant result the case's status came from."""

    def __call__(self, *, case: Any, result: InstantResult) -> None: ...


_listeners: list[Callable[..., None]] = []


def register(listener: Listener) -> None:
    """Add a listener (idempotent: registering the same one twice keeps one)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(*, case: Any, result: InstantResult) -> None:
    """Tell every listener that `case` was submitted with `result` (in the caller's transaction)."""
    for listener in _listeners:
        listener(case=case, result=result)
