"""Who, where and why of the current request or task, set by middleware and task wrappers.

Middleware only sets this context; services read it when they record an event.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    """Where an action came from."""

    user: Any = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    task_name: str = ""
    run_id: str = ""
    api_key_id: int | None = None
    employer_id: int | None = None
    purpose: str = ""
    case_id: int | None = None
    agreement_id: int | None = None
    break_glass: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())


def current() -> AuditContext:
    """The context of the running request or task."""
    return _current.get()


def bind(**values: Any) -> Token[AuditContext]:
    """Replace fields of the current context; returns a token for `reset`."""
    return _current.set(replace(_current.get(), **values))


def reset(token: Token[AuditContext]) -> None:
    """Restore the context that `bind` replaced."""
    _current.reset(token)


class bound:  # noqa: N801 - used like a function: `with context.bound(task_name=...):`
    """Bind context fields for the duration of a `with` block."""

    def __init__(self, **values: Any):
        self.values = values
        self.token: Any = None

    def __enter__(self) -> AuditContext:
        self.token = bind(**self.values)
        return current()

    def __exit__(self, *exc: object) -> None:
        reset(self.token)
