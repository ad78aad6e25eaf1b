"""Benchmark of the triage queue (issue 5).

    make bench AREA=queue                  # 1,000,000 flagged cases
    make bench AREA=queue SCALE=100000     # another size

gunicorn on loopback (gthread, 4 processes x 5 threads) serves three pages to 20 concurrent
client connections holding one signed-in, 2FA-verified session, each page for a fixed time
(CROSSCHECK_BENCH_QUEUE_SECONDS, default 15, after 3 s of warm-up at the same load):
  1. a baseline: a signed-in page rendering only the base layout, behind the same middleware;
  2. the triage queue, first page (default filters, priority order, one audit event per view);
  3. the analyst's and a supervisor's home pages ("what needs me now": counts over the same cases,
     cached until the next change to cases: cases/home_counts.py; the cold count is timed apart);
  4. the Django admin changelist of the same model (Case), for the same user, last (its slow
     requests still in flight when its time is up would weigh on a page measured after it).
For each it prints requests/s and p50/p95/p99, then the goals: queue >= 10x the admin's
requests/s, queue p95 <= 2x the baseline's p95, and each home's p95 <= 2x the baseline's p95. Before the load it measures the CPU time one
request of the baseline and of the queue costs in-process (Django's test client, same session):
a ratio that others' load on the machine does not move, unlike the p95s.

Runs in its own database (crosscheck_bench_queue, kept between runs so a second run at the same
scale skips the load; CROSSCHECK_BENCH_QUEUE_DROP=1 drops it at the end) and Redis database 9.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import report

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "crosscheck_bench_queue"
BENCH_REDIS = "redis://127.0.0.1:6379/9"
CONNECTIONS = 20
SECONDS = float(os.environ.get("CROSSCHECK_BENCH_QUEUE_SECONDS", "15"))
WARMUP_SECONDS = 3.0
CHUNK = 200_000

SETTINGS_MODULE = """from config.settings.test import *  # noqa: F403
ROOT_URLCONF = "bench_queue_urls"
DEBUG = False
"""
URLS_MODULE = '''from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from config.urls import urlpatterns as _project


@login_required
def baseline(request):
    """The base layout and nothing else, behind the same middleware."""
    return render(request, "base.html")


urlpatterns = [path("bench/baseline/", baseline), *_project]
'''


def _database_urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosscheck")
    parts = urlsplit(base)
    bench = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    return bench, admin


def _ensure_database(admin_url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    conn.close()


def _drop_database(admin_url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    conn.close()


def _directory():
    """The unit, the analyst (staff, to reach the admin) and the password used by the bench."""
    from django.contrib.auth.models import Permission
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from privacy.models import Agency, Department, Role, Unit, User

    dept, _ = Department.objects.get_or_create(
        code="dhs", defaults={"name": "Department of Homeland Security"}
    )
    agency, _ = Agency.objects.get_or_create(
        code="ice-hsi", defaults={"name": "ICE HSI", "department": dept}
    )
    unit, _ = Unit.objects.get_or_create(
        agency=agency, code="bench", defaults={"name": "Bench Unit"}
    )
    password = "bench-queue-password-2026"
    user, created = User.objects.get_or_create(
        username="bench-analyst",
        defaults={
            "agency": agency,
            "unit": unit,
            "roles": [Role.ANALYST],
            "is_staff": True,
            "first_name": "Bench",
            "last_name": "Analyst",
        },
    )
    if created:
        user.set_password(password)
        user.save()
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="cases", codename="view_case")
        )
        TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    supervisor, created = User.objects.get_or_create(
        username="bench-supervisor",
        defaults={
            "agency": agency,
            "unit": unit,
            "roles": [Role.SUPERVISOR],
            "first_name": "Bench",
            "last_name": "Supervisor",
        },
    )
    if created:
        supervisor.set_password(password)
        supervisor.save()
        TOTPDevice.objects.create(user=supervisor, name="bench", confirmed=True)
    return unit, user, supervisor, password


def _load(n: int, unit) -> None:
    """N flagged cases routed to the bench unit, written set-based in chunks."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_case")
        (have,) = cur.fetchone()
        if have == n:
            print(f"  {n:,} cases already loaded")
            return
        cur.execute("TRUNCATE cases_case RESTART IDENTITY CASCADE")
        started = time.perf_counter()
        for lo in range(1, n + 1, CHUNK):
            hi = min(lo + CHUNK - 1, n)
            cur.execute(
                """
                INSERT INTO cases_case (
                    created_at, updated_at, number, kind, status, priority, severity, score, owning_agency_id,
                    routed_unit_id, subject_kind, subject_key, subject_name, subject_last4, employer_name, employer_ref,
                    worker_ref, state, rule_codes, rule_families, tags, finding_count, has_new_evidence, due_date,
                    escalation, notice_delivery_method, contest_outcome, proposed_closure, closure, dismiss_reason)
                SELECT
                    now() - (mod(i, 90)) * interval '1 day' - (mod(i, 1440)) * interval '1 minute', now(),
                    'CC-2026-' || lpad(i::text, 7, '0'), 'identity_fraud',
                    CASE WHEN mod(i, 7) = 0 THEN 'in_triage' ELSE 'flagged' END,
                    1 + mod(i::bigint * 7919, 4), (ARRAY['low', 'medium', 'high'])[1 + mod((i * 31), 3)], (mod(i::bigint * 104729, 1000)) / 1000.0,
                    %(agency)s, %(unit)s, 'worker', 'ssn:bench' || i,
                    (ARRAY['Ana', 'Luis', 'Mei', 'Omar', 'Grace', 'Ivan'])[1 + mod(i, 6)] || ' ' ||
                    (ARRAY['Garcia', 'Nguyen', 'Okafor', 'Haddad', 'Silva', 'Kowalski', 'Smith'])[1 + mod((i / 6), 7)],
                    lpad((mod(i, 10000))::text, 4, '0'),
                    'Employer ' || (mod(i, 5000)), mod(i, 5000), i,
                    (ARRAY['TX', 'CA', 'FL', 'NY', 'AZ', 'GA'])[1 + mod(i, 6)],
                    ARRAY[(ARRAY['ssa.name_mismatch', 'ssa.dob_mismatch', 'ssn.velocity', 'dhs.expired_authorization'])[1 + mod(i, 4)]],
                    ARRAY['identity_ssa'], CASE WHEN mod(i, 11) = 0 THEN ARRAY['payroll'] ELSE ARRAY[]::varchar[] END,
                    1 + mod(i, 3), mod(i, 13) = 0, (now() - (mod(i, 90)) * interval '1 day')::date + 5 + (mod(i, 15)),
                    '', '', '', '', '', ''
                FROM generate_series(%(lo)s, %(hi)s) AS i
                """,
                {"agency": unit.agency_id, "unit": unit.pk, "lo": lo, "hi": hi},
            )
            print(
                f"  loaded {hi:,} / {n:,} cases ({time.perf_counter() - started:.0f} s)", flush=True
            )
        cur.execute("SELECT setval('cases_case_number_seq', %s)", [n])
        cur.execute("ANALYZE cases_case")


def _session(user, password: str) -> str:
    """Sign in through the real login and 2FA steps; returns the Cookie header."""
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.status_code
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    for attempt in range(3):
        code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        response = client.post("/accounts/2fa/verify/", {"token": code})
        if response.status_code == 302:
            break
        time.sleep(31 if attempt < 2 else 0)  # a code is single-use: wait for the next one
    else:
        raise SystemExit("queue bench: could not pass 2FA")
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())


def _cpu_per_request(cookie: str, paths: list[tuple[str, str]], n: int = 40) -> dict[str, float]:
    """CPU ms of one request in this process (the server's work, without the HTTP and the queueing)."""
    from django.test import Client

    client = Client()
    for part in cookie.split("; "):
        key, value = part.split("=", 1)
        client.cookies[key] = value
    out = {}
    for name, path in paths:
        for _ in range(5):
            client.get(path)
        started = time.process_time()
        for _ in range(n):
            client.get(path)
        out[name] = (time.process_time() - started) / n * 1000
    return out


def _cold_home_ms(cookie: str, n: int = 5) -> tuple[float, float]:
    """Median wall ms of a home page just after a change to cases (its counts recomputed), and of
    the same page once more (from the cache), one request at a time in this process."""
    from django.db import connection
    from django.test import Client

    client = Client()
    for part in cookie.split("; "):
        key, value = part.split("=", 1)
        client.cookies[key] = value
    client.get("/")
    cold, warm = [], []
    for _ in range(n):
        with connection.cursor() as cur:  # any committed write to cases makes the counts stale
            cur.execute("UPDATE cases_case SET updated_at = now() WHERE id = 1")
        started = time.perf_counter()
        client.get("/")
        cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.get("/")
        warm.append((time.perf_counter() - started) * 1000)
    return statistics.median(cold), statistics.median(warm)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(conn: http.client.HTTPConnection, path: str, cookie: str) -> int:
    conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = conn.getresponse()
    response.read()
    return response.status


def _load_test(port: int, path: str, cookie: str, seconds: float) -> dict[str, float]:
    """CONNECTIONS client threads, each on its own keep-alive connection, for `seconds`."""
    timings: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status = _get(conn, path, cookie)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                bad += 1
                continue
            if status != 200:  # an error answer is counted apart, never as a served request
                bad += 1
                continue
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            timings.extend(mine)
            errors[0] += bad

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    timings.sort()

    def pct(p: float) -> float:
        return timings[min(len(timings) - 1, int(p * len(timings)))] if timings else float("nan")

    return {
        "n": len(timings),
        "rps": len(timings) / elapsed,
        "p50": statistics.median(timings) if timings else float("nan"),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "errors": errors[0],
    }


def run(scale: int | None) -> None:
    """Load N flagged cases, serve them with gunicorn, and measure queue vs admin vs baseline."""
    n = scale or 1_000_000
    bench_url, admin_url = _database_urls()
    _ensure_database(admin_url)
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-queue-"))
    (tmp / "bench_queue_settings.py").write_text(SETTINGS_MODULE)
    (tmp / "bench_queue_urls.py").write_text(URLS_MODULE)
    env = dict(
        os.environ,
        DATABASE_URL=bench_url,
        REDIS_URL=BENCH_REDIS,
        DJANGO_SETTINGS_MODULE="bench_queue_settings",
        CROSSCHECK_CACHE_PREFIX="bench-queue",
        CROSSCHECK_LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DATABASE_URL",
                "REDIS_URL",
                "DJANGO_SETTINGS_MODULE",
                "CROSSCHECK_CACHE_PREFIX",
                "CROSSCHECK_LOG_LEVEL",
            )
        }
    )
    sys.path[:0] = [str(tmp)]

    import django
    from django.core.management import call_command

    django.setup()
    print(f"  database {BENCH_DB}: migrating")
    call_command("migrate", verbosity=0)
    unit, user, supervisor, password = _directory()
    _load(n, unit)
    cookie = _session(user, password)
    cookies = {"supervisor home": _session(supervisor, password)}
    cpu = _cpu_per_request(
        cookie, [("baseline page", "/bench/baseline/"), ("queue page", "/cases/")]
    )
    print(
        f"  in-process CPU per request: baseline {cpu['baseline page']:.1f} ms, queue {cpu['queue page']:.1f} ms "
        f"({cpu['queue page'] / cpu['baseline page']:.2f}x)",
        flush=True,
    )

    for name, who in (("analyst home", cookie), ("supervisor home", cookies["supervisor home"])):
        cold, warm = _cold_home_ms(who)
        print(
            f"  {name}, one request at a time: {cold:.0f} ms just after a change to cases "
            f"(counts recomputed over the {n:,} cases), {warm:.0f} ms from the cache",
            flush=True,
        )

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-k",
            "gthread",
            "-w",
            "4",
            "--threads",
            "5",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
        ],
        env=env,
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("queue bench: gunicorn did not start") from None
                time.sleep(0.3)
        # The admin changelist last: its requests take seconds at this scale, and those still in
        # flight when its measurement ends would weigh on the page measured next.
        targets = [
            ("baseline page", "/bench/baseline/"),
            ("queue page", "/cases/"),
            ("analyst home", "/"),
            ("supervisor home", "/"),
            ("admin changelist", "/admin/cases/case/"),
        ]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for name, path in targets:
            status = _get(conn, path, cookies.get(name, cookie))
            if status != 200:
                raise SystemExit(f"queue bench: {name} answered {status}")
        conn.close()
        results = {}
        print(
            f"  {n:,} flagged cases; {CONNECTIONS} connections; {SECONDS:.0f} s per page; gunicorn gthread 4x5"
        )
        for name, path in targets:
            who = cookies.get(name, cookie)
            _load_test(
                port, path, who, WARMUP_SECONDS
            )  # every worker and thread warm, caches filled
            r = _load_test(port, path, who, SECONDS)
            results[name] = r
            print(
                f"  {name:<17} {path:<20} {r['rps']:8.1f} req/s   p50 {r['p50']:7.1f} ms   p95 {r['p95']:7.1f} ms   "
                f"p99 {r['p99']:7.1f} ms   ({r['n']} requests answered 200, {r['errors']} errors)",
                flush=True,
            )
            if r["errors"]:
                report.note(
                    f"queue bench: {r['errors']} requests to {path} failed or answered other than 200; "
                    "they are left out of its requests/s and latencies, and its figures are suspect"
                )
        q, a, b = results["queue page"], results["admin changelist"], results["baseline page"]
        ratio = q["rps"] / a["rps"] if a["rps"] else float("inf")
        p95 = q["p95"] / b["p95"] if b["p95"] else float("inf")
        print(
            f"  queue vs admin changelist: {ratio:.1f}x requests/s "
            f"{report.goal('queue', 'queue req/s / admin changelist req/s', ratio, '>=', 10, unit='x')}"
        )
        print(
            f"  queue p95 vs baseline p95: {p95:.2f}x "
            f"{report.goal('queue', 'queue p95 / logged-in base page p95', p95, '<=', 2, unit='x')}"
        )
        for home in ("analyst home", "supervisor home"):
            h = results[home]
            ratio = h["p95"] / b["p95"] if b["p95"] else float("inf")
            print(
                f"  {home} p95 vs baseline p95: {ratio:.2f}x "
                f"{report.goal('queue', f'{home} p95 / logged-in base page p95', ratio, '<=', 2, unit='x')}"
            )
        print(f"  load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if os.environ.get("CROSSCHECK_BENCH_QUEUE_DROP") == "1":
            from django.db import connections

            connections.close_all()
            _drop_database(admin_url)
