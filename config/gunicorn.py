"""gunicorn's settings, for `make run` and docker-compose: `gunicorn -c python:config.gunicorn`.

Access logs are JSON lines like the application's (core.logging), with the request id that the
application returned as X-Request-ID. They carry the path without its query string, and no
Referer: the queue's search and filters travel in query strings, and they can name a person.
An SSN- or A-Number-shaped run in the path is redacted (core.redaction), as in the application's
own lines: a path is what a person typed too.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

from core.redaction import redact_digits

accesslog = "-"
# How long an idle keep-alive connection stays open. gunicorn's 2 s default is shorter than a
# person's pause between two clicks, so a client reusing its connection races the server closing
# it and gets "connection closed without response" (found by `make soak`: 2 of 36 queue loads).
# Longer than the usual load balancer's idle timeout (60 s), so the balancer closes first.
keepalive = int(os.environ.get("CROSSCHECK_GUNICORN_KEEPALIVE", "75"))


class JsonAccessLogger(Logger):
    """gunicorn's logger, with access lines as JSON that hold no query string."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = {name.lower(): value for name, value in resp.headers}
        method, path = (
            environ.get("REQUEST_METHOD", ""),
            redact_digits(environ.get("PATH_INFO", "")),
        )
        line = {
            "time": datetime.now(UTC).isoformat(),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{method} {path} {status}",
            "request_id": headers.get("x-request-id", ""),
            "method": method,
            "path": path,
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR", ""),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:
            self.exception("access log")


logger_class = JsonAccessLogger
