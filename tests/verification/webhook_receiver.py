"""A real HTTP receiver for webhook tests: a threading http.server on a free local port.

It records every request (path, headers, raw body) and answers from a script, one entry per
request, then with the default: a status and body, a pause before answering, a redirect, or an
endless streamed body (it counts the bytes it managed to send before the client hung up).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Any:
    """The receiver's `verify` function exactly as the README prints it (executed, not copied)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- webhook-verify:start -->\s*```python\n(.*?)```\s*<!-- webhook-verify:end -->",
        text,
        re.S,
    )
    assert block, "the README lost its webhook verification example"
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    return namespace["verify"]


def payload_identifiers(raw: str | bytes) -> str:
    """A payload's text with the parts drawn at random or from a sequence set aside.

    The event id (a UUID), the timestamp and the case's id may spell any digits by chance
    ("...-4390-..."): their form is checked here, and what is returned is everything else, where
    no personal identifier may appear.
    """
    body = json.loads(raw)
    uuid.UUID(body.pop("id"))
    datetime.fromisoformat(body.pop("created_at").replace("Z", "+00:00"))
    case = dict(body["data"]["case"])
    assert isinstance(case.pop("id"), int)
    return json.dumps({**body, "data": {**body["data"], "case": case}})


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"ok":true}'
    delay: float = 0.0
    location: str = ""
    endless: bool = False


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    script: deque[Answer] = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    streamed_bytes: list[int] = field(default_factory=list)

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                owner.received.append(Received(self.path, dict(self.headers), body, time.time()))
                answer = owner.script.popleft() if owner.script else owner.default
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.endless:
                    self._stream()
                    return
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("Location", answer.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may hang up first
                    self.wfile.write(answer.body)

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()  # no length: the body runs until the client hangs up
                self.close_connection = True
                sent, chunk = 0, b"x" * 1024
                try:
                    while sent < 200 * 1024 * 1024:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except OSError:
                    pass
                owner.streamed_bytes.append(sent)

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hooks") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.received]
