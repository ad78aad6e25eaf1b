"""P3: the instant result over the employer API, on a realistic mix, against a loaded database.

Used by bench/data.py after its load (`make bench AREA=data`), or on its own against the
current DATABASE_URL: `python -m bench.latency --requests 300`. It starts gunicorn with the
production worker layout (2 processes x 4 threads, as `make run`) on a free port and enrols a
probe employer with a key. Then:

1. **One client**, submits one after another over keep-alive, each with its own
   Idempotency-Key, in the mix 70% clean citizens, 15% SSA mismatches (another person's name on
   the SSN), 10% DHS look-ups (permanent residents with an A-Number) and 5% near matches (a
   one-letter slip in the surname). p50/p95/p99 overall and per kind.
2. **Sustained, 8 clients**: the same mix as fast as the server answers, for a fixed time,
   interleaved with the same 8 clients calling `GET /api/v1/key/` (the cheapest authenticated
   JSON answer of the same server: key look-up and throttle included). Submits/s over
   trivial answers/s is the ratio (goal >= 50%). Non-2xx answers are counted apart.

Both sides run on the same server, clients and connections; each phase is repeated
(BENCH_LATENCY_REPEATS, default 3, interleaved) and the median is reported with its spread.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

MIX = (("clean", 14), ("ssa_mismatch", 3), ("dhs_lookup", 2), ("near_match", 1))  # per 20
CLIENTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _tree(pid: int) -> list[int]:
    """A process and its descendants (gunicorn's arbiter and workers)."""
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            for child in fh.read().split():
                out.extend(_tree(int(child)))
    except OSError:
        pass
    return out


def _slip(name: str) -> str:
    """A one-letter keyboard slip: the second-to-last letter doubled (Garcia -> Garciia)."""
    return name if len(name) < 3 else name[:-1] + name[-2] + name[-1]


def _i9(today: date, **person: Any) -> dict[str, Any]:
    return {
        "document_type": "list_b_and_c",
        "offer_accepted_on": (today - timedelta(days=10)).isoformat(),
        "i9_completed_on": (today - timedelta(days=1)).isoformat(),
        "hire_date": today.isoformat(),
        **person,
    }


def _citizens(n: int) -> list[tuple[str, str, date, str]]:
    from verification.identifiers import reveal
    from verification.models import Numident, NumidentCitizenship

    rows = (
        Numident.objects.current()
        .filter(citizenship=NumidentCitizenship.CITIZEN, death_date__isnull=True, locked=False)
        .order_by("id")[:n]
    )
    return [(r.first_name, r.last_name, r.date_of_birth, reveal(r, "ssn")) for r in rows]


def _residents(n: int) -> list[tuple[str, str, date, str, str]]:
    """People SSA knows as noncitizens allowed to work and DHS knows by an A-Number."""
    from verification.identifiers import reveal
    from verification.models import ImmigrationRecord, Numident, NumidentCitizenship

    numident = {
        (r.first_name, r.last_name, r.date_of_birth): r
        for r in Numident.objects.current()
        .filter(citizenship=NumidentCitizenship.ALIEN_AUTHORIZED, death_date__isnull=True)
        .order_by("id")[: n * 4]
    }
    out = []
    dhs = ImmigrationRecord.objects.current().exclude(a_number_bidx="").order_by("id")
    for record in dhs.iterator(chunk_size=2000):
        ssa = numident.get((record.first_name, record.last_name, record.date_of_birth))
        if ssa is not None and (
            record.work_authorized_until is None or record.work_authorized_until > date.today()
        ):
            out.append(
                (
                    record.first_name,
                    record.last_name,
                    record.date_of_birth,
                    reveal(ssa, "ssn"),
                    reveal(record, "a_number"),
                )
            )
            if len(out) == n:
                break
    return out


def bodies(n: int) -> list[tuple[str, dict[str, Any]]]:
    """`n` submits in the mix, each tagged with its kind, in a fixed interleaved order."""
    today = date.today()
    share = {kind: -(-n * weight // 20) for kind, weight in MIX}
    citizens = _citizens(share["clean"] + share["ssa_mismatch"] + share["near_match"] + 1)
    residents = _residents(share["dhs_lookup"])
    if len(citizens) < n - share["dhs_lookup"] or len(residents) < share["dhs_lookup"]:
        raise SystemExit(
            f"latency: the database has {len(citizens)} citizens and {len(residents)} residents "
            f"known to both SSA and DHS; {n} submits need more (load data first)"
        )
    pattern = [kind for kind, weight in MIX for _ in range(weight)]
    pattern = [pattern[(k * 7) % 20] for k in range(20)]  # spread the kinds through the order
    out: list[tuple[str, dict[str, Any]]] = []
    c = r = 0
    for k in range(n):
        kind = pattern[k % 20]
        if kind == "dhs_lookup":
            first, last, born, ssn, a_number = residents[r]
            r += 1
            person = {"citizenship_status": "permanent_resident", "a_number": a_number}
            person["document_type"] = "permanent_resident_card"
            person["document_number"] = a_number
            person["document_expires_on"] = (today + timedelta(days=900)).isoformat()
        else:
            first, last, born, ssn = citizens[c]
            c += 1
            person = {"citizenship_status": "citizen"}
            if kind == "ssa_mismatch":  # the next person's name on this SSN
                first, last = citizens[c][0], citizens[c][1] + "son"
            elif kind == "near_match":
                last = _slip(last)
        person |= {"first_name": first, "last_name": last, "date_of_birth": born.isoformat()}
        person |= {"ssn": ssn, "employer_case_id": f"lat-{k}"}
        out.append((kind, _i9(today, **person)))
    return out


@contextmanager
def _server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """gunicorn as `make run` lays it out (2 workers x 4 threads) on the current database."""
    from django.db import connection

    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(connection.settings_dict),
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CROSSCHECK_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--threads", "4"]
    command += ["--keep-alive", "75", "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=10)


def _probe_key() -> str:
    """A fresh probe employer per run (the same people twice at one employer are duplicates)."""
    from verification import services
    from verification.models import Employer

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
    _, raw = services.apikey_issue(
        actor=None, employer=employer, label="latency probe", rate_per_minute=100_000
    )
    return raw


class _Client:
    """One keep-alive connection that submits or asks for its key, timing each answer."""

    def __init__(self, port: int, key: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def submit(self, body: dict[str, Any]) -> tuple[int, float, dict[str, Any]]:
        headers = {**self.headers, "Idempotency-Key": f"lat-{time.time_ns()}-{id(body)}"}
        started = time.perf_counter()
        self.conn.request("POST", "/api/v1/cases/", json.dumps(body), headers)
        response = self.conn.getresponse()
        payload = json.loads(response.read())
        return response.status, (time.perf_counter() - started) * 1000, payload

    def trivial(self, _body: Any = None) -> tuple[int, float, dict[str, Any]]:
        started = time.perf_counter()
        self.conn.request("GET", "/api/v1/key/", headers=self.headers)
        response = self.conn.getresponse()
        payload = json.loads(response.read())
        return response.status, (time.perf_counter() - started) * 1000, payload


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def one_client(
    port: int, pid: int, key: str, mix: list[tuple[str, dict[str, Any]]], warmup: int
) -> dict:
    """Submits one after another; latency per kind, the results seen, CPU per submit."""
    from django.db import connection

    client = _Client(port, key)
    timings: dict[str, list[float]] = {kind: [] for kind, _ in MIX}
    results: dict[str, dict[str, int]] = {kind: {} for kind, _ in MIX}
    for _kind, body in mix[:warmup]:
        client.submit(body)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        db_pids = [row[0] for row in cursor.fetchall()]
    app_pids = _tree(pid)
    app_before = sum(_cpu_seconds(p) for p in app_pids)
    db_before = sum(_cpu_seconds(p) for p in db_pids)
    for kind, body in mix[warmup:]:
        status, elapsed, payload = client.submit(body)
        if status != 201:
            raise SystemExit(f"latency: a {kind} submit failed with {status}: {payload}")
        timings[kind].append(elapsed)
        result = str(payload.get("result") or payload.get("status"))
        results[kind][result] = results[kind].get(result, 0) + 1
    n = max(1, len(mix) - warmup)
    every = [t for values in timings.values() for t in values]
    return {
        "n": len(every),
        "p50": statistics.median(every),
        "p95": _percentile(every, 0.95),
        "p99": _percentile(every, 0.99),
        "max": max(every),
        "kinds": {
            kind: {"n": len(v), "p50": statistics.median(v), "p95": _percentile(v, 0.95)}
            for kind, v in timings.items()
            if v
        },
        "results": results,
        "app_cpu_ms": (sum(_cpu_seconds(p) for p in app_pids) - app_before) * 1000 / n,
        "db_cpu_ms": (sum(_cpu_seconds(p) for p in db_pids) - db_before) * 1000 / n,
    }


_END = object()


def sustained(port: int, key: str, operation: str, work: list[Any], seconds: float) -> dict:
    """CLIENTS connections doing `operation` for `seconds`: answers/s, and non-2xx apart."""
    feed = iter(work)
    lock = threading.Lock()
    ok: list[int] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    def loop() -> None:
        client = _Client(port, key)
        call = getattr(client, operation)
        done = 0
        while time.monotonic() < deadline:
            with lock:
                item = next(feed, _END)
            if item is _END:
                break
            status, _, _ = call(item)
            if 200 <= status < 300:
                done += 1
            else:
                with lock:
                    errors[status] = errors.get(status, 0) + 1
        with lock:
            ok.append(done)

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    exhausted = next(feed, _END) is _END
    return {
        "per_second": sum(ok) / elapsed,
        "ok": sum(ok),
        "errors": errors,
        "exhausted": exhausted,
    }


def measure(*, requests: int = 300, warmup: int = 20, seconds: float | None = None) -> dict:
    """Start a server on the current database; one client on the mix, then 8 sustained."""
    seconds = seconds or float(os.environ.get("BENCH_LATENCY_SECONDS", "10"))
    repeats = int(os.environ.get("BENCH_LATENCY_REPEATS", "3"))
    # Sustained submits need fresh people, each once: enough for 600 submits/s (these machines
    # reach 150-300/s); a phase that runs out says so (`exhausted`) rather than report a rate.
    pool = bodies(requests + warmup + int(seconds * 600 * repeats))
    key = _probe_key()
    with _server() as (port, server):
        figures = one_client(port, server.pid, key, pool[: requests + warmup], warmup)
        rest = [body for _, body in pool[requests + warmup :]]
        submits, trivials = [], []
        for _ in range(repeats):  # interleaved: neither side gets the warmer server
            trivials.append(sustained(port, key, "trivial", [None] * 10**7, seconds))
            submits.append(sustained(port, key, "submit", rest, seconds))
            rest = rest[submits[-1]["ok"] + sum(submits[-1]["errors"].values()) :]
    with open("/proc/loadavg") as fh:
        figures["load"] = float(fh.read().split()[0])
    figures["submits_per_second"] = [s["per_second"] for s in submits]
    figures["trivial_per_second"] = [t["per_second"] for t in trivials]
    figures["sustained_errors"] = _merge([s["errors"] for s in submits + trivials])
    figures["exhausted"] = sum(s["exhausted"] for s in submits)
    figures["ratio"] = statistics.median(figures["submits_per_second"]) / max(
        1e-9, statistics.median(figures["trivial_per_second"])
    )
    return figures


def _merge(counts: list[dict[int, int]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for count in counts:
        for status, n in count.items():
            out[status] = out.get(status, 0) + n
    return out


def describe(figures: dict) -> list[str]:
    """The lines `make bench` prints (bench/data.py records the goals)."""
    kinds = ", ".join(
        f"{kind} {v['n']} p50 {v['p50']:.1f}/p95 {v['p95']:.1f}"
        for kind, v in figures["kinds"].items()
    )
    submits, trivial = figures["submits_per_second"], figures["trivial_per_second"]
    lines = [
        f"latency:   per kind (ms): {kinds}",
        f"latency:   results per kind: {figures['results']}",
        f"latency:   CPU per submit: app {figures['app_cpu_ms']:.1f} ms + database "
        f"{figures['db_cpu_ms']:.1f} ms; load average {figures['load']}",
        f"latency: sustained, {CLIENTS} clients, same server (2 workers x 4 threads), "
        f"{len(submits)} interleaved repeats: submits/s median {statistics.median(submits):.1f} "
        f"(spread {min(submits):.1f}-{max(submits):.1f}) vs GET /api/v1/key/ median "
        f"{statistics.median(trivial):.1f}/s (spread {min(trivial):.1f}-{max(trivial):.1f})",
    ]
    if figures["sustained_errors"]:
        lines.append(
            f"latency:   non-2xx answers, left out of the rates: {figures['sustained_errors']}"
        )
    return lines


def main() -> None:
    import argparse

    import django

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    figures = measure(requests=args.requests)
    print(
        f"latency: one client, {figures['n']} submits (mix 70/15/10/5): p50 {figures['p50']:.1f} ms, "
        f"p95 {figures['p95']:.1f} ms (goal <= 50 ms), p99 {figures['p99']:.1f} ms; "
        f"sustained ratio {figures['ratio']:.2f} (goal >= 0.50)"
    )
    for line in describe(figures):
        print(line)


if __name__ == "__main__":
    main()
