"""Who, where and why of the current request or task, set by middleware and task wrappers.

Middleware only sets this context; services read it when they record an event.
"""

from __future__ import annotations

from contextvars import ContextVar
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
    extra: dict[str, Any] = field(default_factory=dict)


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())


def current() -> AuditContext:
    """The context of the running request or task."""
    return _current.get()


def bind(**values: Any):
    """Replace fields of the current context; returns a token for `reset`."""
    return _current.set(replace(_current.get(), **values))


def reset(token) -> None:
    """Restore the context that `bind` replaced."""
    _current.reset(token)
