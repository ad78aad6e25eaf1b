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
# A listener's way to hear of many cases at once (a bulk import), if it has one.
_many: dict[Callable[..., None], Callable[[list[tuple[Any, InstantResult]]], None]] = {}


def register(
    listener: Listener,
    *,
    many: Callable[[list[tuple[Any, InstantResult]]], None] | None = None,
) -> None:
    """Add a listener (idempotent: registering the same one twice keeps one); `many`, if given,
    hears of the cases of a bulk import in one call instead of one call per case."""
    if listener not in _listeners:
        _listeners.append(listener)
    if many is not None:
        _many[listener] = many


def announce(*, case: Any, result: InstantResult) -> None:
    """Tell every listener that `case` was submitted with `result` (in the caller's transaction)."""
    for listener in _listeners:
        listener(case=case, result=result)


def announce_many(items: list[tuple[Any, InstantResult]]) -> None:
    """`announce` for many cases (a bulk import's chunk): one call per listener that can take them."""
    if not items:
        return
    for listener in _listeners:
        many = _many.get(listener)
        if many is not None:
            many(items)
        else:
            for case, result in items:
                listener(case=case, result=result)
