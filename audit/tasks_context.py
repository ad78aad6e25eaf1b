"""Where a Celery task's audit events come from: the task name and its run (task) id."""

from __future__ import annotations

import contextlib
from typing import Any

from audit import context

_TOKENS: dict[str, Any] = {}


def task_started(
    sender: Any = None, task_id: str | None = None, task: Any = None, **kwargs: Any
) -> None:
    """Bind the task's name and id to the audit context for the length of the run."""
    name = getattr(task, "name", "") or getattr(sender, "name", "") or ""
    _TOKENS[task_id or ""] = context.bind(
        user=None, task_name=str(name)[:128], run_id=str(task_id or "")[:64]
    )


def task_finished(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """Restore the context the task replaced."""
    token = _TOKENS.pop(task_id or "", None)
    if token is not None:
        # A token from another thread's context: nothing to restore here.
        with contextlib.suppress(ValueError):
            context.reset(token)
