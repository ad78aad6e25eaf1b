"""The registration point for "a run finished" (DESIGN.md: crossref → cases by inversion).

crossref never imports cases. An app higher in the order registers a listener in its
`AppConfig.ready`; when a run's last partition ends, the engine closes the run and, once that
transaction commits, calls every listener with the run's id (cases queues its finding ingest
there, so analysts do not wait for the safety-net beat). A listener must be quick and must not
raise: it runs in the worker that finished the last partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_listeners: list[Callable[[int], None]] = []


def register(listener: Callable[[int], None]) -> None:
    """Add a listener (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(run_id: int) -> None:
    """Tell every listener that run `run_id` finished (after its closing transaction committed)."""
    for listener in _listeners:
        try:
            listener(run_id)
        except Exception:  # a listener's failure must not fail the partition that finished
            log.exception("crossref run-finished listener failed", extra={"run": run_id})
