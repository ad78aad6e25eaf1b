"""Instant-result latency over the employer API, with one client, against a loaded database.

Used by bench/data.py after its load (`make bench AREA=data`), or on its own against the
current DATABASE_URL: `python -m bench.latency --requests 300`. It starts gunicorn (one sync
worker) on a free port, enrols an employer with a key, then submits cases one after another
over HTTP keep-alive, each with its own Idempotency-Key, and prints p50/p95/max.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(settings_dict: dict[str, Any]) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgres://{auth}/{settings_dict['NAME']}?host={host}"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), so figures survive a busy machine."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _bodies(n: int) -> list[dict[str, Any]]:
    """Submits for people who are in Numident (citizens), a quarter of them with a name variant."""
    from verification.identifiers import reveal
    from verification.models import Numident, NumidentCitizenship

    today = date.today()
    out = []
    rows = list(
        Numident.objects.current()
        .filter(citizenship=NumidentCitizenship.CITIZEN, death_date__isnull=True, locked=False)
        .order_by("id")[:n]
    )
    for k, row in enumerate(rows):
        last = row.last_name.upper() if k % 4 == 1 else row.last_name
        out.append(
            {
                "first_name": row.first_name,
                "last_name": last,
                "date_of_birth": row.date_of_birth.isoformat(),
                "ssn": reveal(row, "ssn"),
                "citizenship_status": "citizen",
                "document_type": "list_b_and_c",
                "offer_accepted_on": (today - timedelta(days=10)).isoformat(),
                "i9_completed_on": (today - timedelta(days=1)).isoformat(),
                "hire_date": today.isoformat(),
                "employer_case_id": f"lat-{k}",
            }
        )
    return out


def measure(*, requests: int = 300, warmup: int = 20) -> dict[str, float]:
    """Start a server on the current database, submit `requests` cases, return latency figures (ms)."""
    from django.db import connection

    from verification import services
    from verification.models import Employer

    bodies = _bodies(requests + warmup)
    if len(bodies) < requests + warmup:
        raise SystemExit("latency: not enough Numident rows; load data first")
    # A fresh probe employer per run: the same people again at one employer would be duplicates
    # (400 without a coded reason), so a second run against the same database would fail.
    probes = Employer.objects.filter(ein__startswith="99", name__startswith="Latency Probe").count()
    ein = f"{990000001 + probes:09d}"
    employer = services.employer_enrol(
        actor=None,
        ein=f"{ein[:2]}-{ein[2:]}",
        name=f"Latency Probe {probes + 1}",
        naics="541511",
        state="TX",
        mou_signed_on=date(2024, 1, 1),
    )
    _, raw = services.apikey_issue(actor=None, employer=employer, label="latency probe")
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(connection.settings_dict),
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CROSSCHECK_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("latency: the server did not start") from None
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
        timings = []
        statuses: dict[str, int] = {}
        app_pids = _children(server.pid) or [server.pid]
        db_pids: list[int] = []
        cpu_before = 0.0
        for k, body in enumerate(bodies):
            if k == warmup:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    )
                    db_pids = [r[0] for r in cursor.fetchall()]
                app_before = sum(_cpu_seconds(p) for p in app_pids)
                db_before = sum(_cpu_seconds(p) for p in db_pids)
                cpu_before = 1.0
            started = time.perf_counter()
            conn.request(
                "POST",
                "/api/v1/cases/",
                json.dumps(body),
                {**headers, "Idempotency-Key": f"lat-{time.time_ns()}-{k}"},
            )
            response = conn.getresponse()
            payload = json.loads(response.read())
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 201:
                raise SystemExit(f"latency: submit failed with {response.status}: {payload}")
            if k >= warmup:
                timings.append(elapsed)
                statuses[payload["result"] or payload["status"]] = (
                    statuses.get(payload["result"] or payload["status"], 0) + 1
                )
        app_cpu = (
            (sum(_cpu_seconds(p) for p in app_pids) - app_before) * 1000 / max(1, len(timings))
            if cpu_before
            else float("nan")
        )
        db_cpu = (
            (sum(_cpu_seconds(p) for p in db_pids) - db_before) * 1000 / max(1, len(timings))
            if cpu_before
            else float("nan")
        )
        with open("/proc/loadavg") as fh:
            load = fh.read().split()[0]
        timings.sort()
        return {
            "app_cpu_ms": app_cpu,
            "db_cpu_ms": db_cpu,
            "load": float(load),
            "n": len(timings),
            "p50": statistics.median(timings),
            "p95": timings[int(0.95 * (len(timings) - 1))],
            "max": timings[-1],
            "results": statuses,  # type: ignore[dict-item]
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    import argparse

    import django

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    figures = measure(requests=args.requests)
    print(
        f"latency: instant result over the API, one client, {figures['n']} submits: "
        f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms (goal <= 50 ms), max {figures['max']:.1f} ms; {figures['results']}; "
        f"CPU per submit: app {figures['app_cpu_ms']:.1f} ms + database {figures['db_cpu_ms']:.1f} ms; load average {figures['load']}"
    )


if __name__ == "__main__":
    main()
