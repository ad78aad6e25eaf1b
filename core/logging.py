"""Structured logging helpers: the request id travels in a context variable."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    """Adds the current request id (or an empty string) to every log record.

    Django logs a 4xx or 5xx answer (django.request) after the middleware has returned, when the
    context variable is reset: such a record carries the request, which holds the id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if not request_id:
            request_id = getattr(getattr(record, "request", None), "request_id", "")
        record.request_id = request_id
        return True
