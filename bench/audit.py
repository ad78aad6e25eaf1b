"""Benchmark of the audit trail (issue 7).

    make bench AREA=audit                 # pages at 20 connections; chain design; verify 1M and 10M
    make bench AREA=audit SCALE=200000    # verify SCALE/10 and SCALE events instead

1. Page throughput at 20 concurrent connections, auditing on versus off (goal: <= 10% overhead).
   A real gunicorn (gthread, 4 processes x 5 threads = 20 handlers) serves a personal-data page
   to 20 client connections on loopback, for a fixed time, after an unmeasured warm-up phase,
   in 8 pairs of phases, on and off in Thue-Morse order (on off, off on, off on, on off, ...,
   which cancels a drift). The overhead is the median over the pairs (a step in the machine's
   load, another job starting, moves one pair, not the result), next to the means. The
   page is the case detail (the issue's page): the bench loads the demo directory and a small
   demo world (`seed_demo`, `demo_world --cases 1500`: synthetic verification cases run through
   every cross-reference rule and ingested into flagged cases), then serves, to the demo analyst
   alice, the case of her unit with the most findings. Each view writes its audit event (the
   person named, the case, the request) and the accounting of disclosures; auditing off is the
   test settings' switch (CROSSCHECK_AUDIT_ENABLED=0), which skips the audit event only.
   CROSSCHECK_BENCH_AUDIT_URL sets another page ("{case_id}" and "{event_id}" are replaced).
   The sealer runs beside it every second, as beat runs it in production.
2. The chain design measured: 8 writers inserting one event per transaction, unchained (the
   sealer's way) versus chained at insert under a lock; and how long the others wait while one
   writer keeps its transaction open 200 ms after its audit insert.
3. Sealing and verifying 1M and 10M events (goal: >= 200k events/s verified).
4. The supervisors' audit browser over the largest chain of part 3: the latency of its pages
   (the browser under each filter, newest page and a page deep in the trail, and a user's
   timeline), requested in process as the demo supervisor sam, with the browser's indexes.

Runs in its own database (crosscheck_bench_audit, dropped at the end) and Redis database 8.
CROSSCHECK_BENCH_AUDIT_PARTS=3 runs only part 3 (any subset of "1234"; part 4 needs part 3).
CROSSCHECK_BENCH_AUDIT_KEEP=1 keeps its own database (crosscheck_bench_audit_kept) between runs,
so that a second run reuses the events already generated and sealed (part 3 then only
verifies); each size verifies seq 1..N.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import report

ROOT = Path(__file__).resolve().parent.parent
# A kept database has its own name, so that a plain run (which drops its database) never takes it.
BENCH_DB = (
    "crosscheck_bench_audit_kept"
    if os.environ.get("CROSSCHECK_BENCH_AUDIT_KEEP") == "1"
    else "crosscheck_bench_audit"
)
BENCH_REDIS_DB = 8
CONNECTIONS = 20
PHASE_SECONDS = float(os.environ.get("CROSSCHECK_BENCH_AUDIT_SECONDS", "12"))
PAIRS = 8  # pairs of phases, audit on and off


def run(scale: int | None) -> None:
    """Entry point of `make bench AREA=audit [SCALE=n]`."""
    from bench.__main__ import require_free_disk

    sizes = [max(scale // 10, 1000), scale] if scale else [1_000_000, 10_000_000]
    require_free_disk(str(ROOT), 4 + sizes[-1] / 1_000_000 * 1.5)
    parts = os.environ.get("CROSSCHECK_BENCH_AUDIT_PARTS", "1234")
    keep = os.environ.get("CROSSCHECK_BENCH_AUDIT_KEEP") == "1"
    url = _setup_database(keep=keep)
    try:
        if "1" in parts:
            _pages(url)
        if "2" in parts:
            _designs(url)
        for n in sizes if "3" in parts else []:
            _verify_size(n)
        if "4" in parts and "3" in parts:
            _browser()
    finally:
        if not keep:
            _drop_database()


# --- Environment ---------------------------------------------------------------------------------


def _admin_url() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosscheck")
    url = urlsplit(base)
    return (
        urlunsplit((url.scheme, url.netloc, "/postgres", url.query, "")),
        urlunsplit((url.scheme, url.netloc, "/" + BENCH_DB, url.query, "")),
    )


def _setup_database(*, keep: bool) -> str:
    import psycopg2

    admin_url, bench_url = _admin_url()
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        exists = cur.fetchone() is not None
        if exists and not keep:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [BENCH_DB],
            )
            cur.execute(f'DROP DATABASE "{BENCH_DB}"')
        if not (exists and keep):
            cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    os.environ["DATABASE_URL"] = bench_url
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    os.environ["REDIS_URL"] = f"{redis_base}/{BENCH_REDIS_DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["CROSSCHECK_AUDIT_CHECKPOINT_PATH"] = str(
        ROOT / "var" / "bench-audit" / "checkpoints.jsonl"
    )
    os.environ["CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE"] = str(
        ROOT / "var" / "bench-audit" / "key.pem"
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    for conn in connections.all():
        conn.close()
    settings.DATABASES["default"]["NAME"] = BENCH_DB
    settings.AUDIT_CHECKPOINT_PATH = os.environ["CROSSCHECK_AUDIT_CHECKPOINT_PATH"]
    settings.AUDIT_CHECKPOINT_KEY_FILE = os.environ["CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE"]
    if not keep:
        Path(settings.AUDIT_CHECKPOINT_PATH).unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    return bench_url


def _drop_database() -> None:
    import psycopg2
    from django.db import connections

    for conn in connections.all():
        conn.close()
    admin_url, _ = _admin_url()
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [BENCH_DB]
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    admin.close()


# --- 1. Pages at 20 connections ------------------------------------------------------------------


def _demo_case() -> tuple[object, int]:
    """Load the demo directory and a small demo world; alice and the visible case with the most findings."""
    from django.core.management import call_command
    from django.db.models import Count

    from cases.models import Case
    from privacy.models import User

    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
        call_command("demo_world", cases=1500, employers=30, stdout=quiet)
    user = User.objects.get(username="alice")
    case = (
        Case.objects.visible_to(user, "view")
        .annotate(n=Count("case_findings"))
        .filter(subject_kind="worker")
        .order_by("-n", "pk")
        .first()
    )
    if case is None:
        raise SystemExit("bench audit: the demo world gave alice no case to open")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "VACUUM ANALYZE"
        )  # what autovacuum would do soon after a load, done before measuring
    print(
        f"   demo world loaded in {time.perf_counter() - started:.0f}s; alice opens case {case.pk} "
        f"({case.n} findings)"
    )
    return user, case.pk


def _session_cookie(user) -> str:
    """A verified session (password and TOTP passed) for `user`."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    now = time.time()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["otp_device_id"] = device.persistent_id
    store["_crosscheck_login_at"] = now
    store["_crosscheck_last_seen"] = now
    store.set_expiry(6 * 3600)
    store.save()
    return store.session_key


def _cpu_in_process(cookie: str, path: str, *, rounds: int = 8, n: int = 25) -> None:
    """CPU per request of the page in this process plus its PostgreSQL backend, audit on vs off.

    The HTTP figures of a shared 2-core machine swing by a third between identical phases; CPU
    time does not, so this is the overhead's stable measure. Blocks alternate on/off, then off/on.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    client.cookies["sessionid"] = cookie
    if client.get(path).status_code != 200:
        raise SystemExit(f"bench audit: {path} did not answer 200 in-process")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cur.fetchone()[0]}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def backend_cpu() -> float:
        fields = backend.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime and stime

    samples: dict[bool, list[float]] = {True: [], False: []}
    for r in range(rounds):
        for on in (True, False) if r % 2 == 0 else (False, True):
            with override_settings(AUDIT_ENABLED=on):
                cpu, db = time.process_time(), backend_cpu()
                for _ in range(n):
                    client.get(path)
                samples[on].append((time.process_time() - cpu + backend_cpu() - db) / n * 1000)
    on, off = statistics.median(samples[True]), statistics.median(samples[False])
    print(
        f"   in-process CPU per request (Django and its PostgreSQL backend, median of {rounds} blocks of {n}): "
        f"audit on {on:.1f} ms, off {off:.1f} ms: overhead {(on - off) / off * 100:.1f}% "
        f"{report.goal('audit', 'audit CPU overhead per request', (on - off) / off * 100, '<=', 10, unit='%')}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(audit_on: bool, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CROSSCHECK_AUDIT_ENABLED": "1" if audit_on else "0",
        "CROSSCHECK_SESSION_IDLE_MINUTES": "600",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "5",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("bench audit: gunicorn did not start")


def _load(port: int, path: str, cookie: str, seconds: float) -> tuple[int, int, list[float]]:
    """20 keep-alive client connections for `seconds`; (ok, failed, latencies)."""
    stop = time.monotonic() + seconds
    ok = [0] * CONNECTIONS
    failed = [0] * CONNECTIONS
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"}
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    ok[i] += 1
                    latencies[i].append(time.perf_counter() - started)
                else:
                    failed[i] += 1
            except (OSError, http.client.HTTPException):
                failed[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok), sum(failed), [x for xs in latencies for x in xs]


def _pages(url: str) -> None:
    from audit.chain import seal_pending
    from audit.models import AuditEvent
    from audit.services import event_record

    user, case_id = _demo_case()
    cookie = _session_cookie(user)
    event = event_record(
        action="access.denied", actor=user, outcome="denied", detail={"path": "/bench/"}
    )
    path = os.environ.get("CROSSCHECK_BENCH_AUDIT_URL", "/cases/{case_id}/").format(
        case_id=case_id, event_id=event.pk
    )
    print(
        f"1. {path} at {CONNECTIONS} connections, {PHASE_SECONDS:.0f}s per phase (gunicorn 4x5 gthread)"
    )
    sealing = threading.Event()

    def sealer() -> None:
        from django.db import connection

        while not sealing.is_set():
            seal_pending()
            time.sleep(1)
        connection.close()

    _cpu_in_process(cookie, path)
    sealer_thread = threading.Thread(target=sealer, daemon=True)
    sealer_thread.start()
    rates: dict[bool, list[float]] = {True: [], False: []}
    p95: dict[bool, list[float]] = {True: [], False: []}
    try:
        # A first, unmeasured phase warms PostgreSQL's caches after the load; then PAIRS pairs of
        # phases, on and off in the order of the Thue-Morse sequence (on off, off on, off on, on
        # off, ...), so that a drift of the machine over time weighs on both alike.
        order = [bool(bin(i).count("1") % 2 == 0) for i in range(2 * PAIRS)]
        for audit_on, measured in ((True, False), *((on, True) for on in order)):
            port = _free_port()
            server = _serve(audit_on, port)
            try:
                if not measured:
                    _load(port, path, cookie, PHASE_SECONDS / 2)
                    continue
                warm_ok, warm_failed, _ = _load(port, path, cookie, 3)  # warm up
                if warm_failed or not warm_ok:
                    raise SystemExit(
                        f"bench audit: {path} did not answer 200 ({warm_failed} failed)"
                    )
                before = AuditEvent.objects.count()
                ok, failed, lat = _load(port, path, cookie, PHASE_SECONDS)
                written = AuditEvent.objects.count() - before
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            rate = ok / PHASE_SECONDS
            rates[audit_on].append(rate)
            q = statistics.quantiles(lat, n=20)[18] * 1000 if len(lat) > 20 else float("nan")
            p95[audit_on].append(q)
            print(
                f"   audit {'on ' if audit_on else 'off'}: {rate:7.1f} req/s, p95 {q:6.1f} ms, {failed} failed, {written} events written"
            )
    finally:
        sealing.set()
        sealer_thread.join(timeout=30)
    on, off = statistics.mean(rates[True]), statistics.mean(rates[False])
    overhead = (off - on) / off * 100 if off else float("nan")
    # Each pair's two phases ran next to each other; the host's load changes in steps (another
    # job starting), which the means of all phases take in whole but only one pair's ratio does.
    paired = [(b - a) / b * 100 for a, b in zip(rates[True], rates[False], strict=True) if b]
    print(
        f"   => auditing on {on:.1f} req/s vs off {off:.1f} req/s (means): {overhead:.1f}%; "
        f"paired phases: median overhead {statistics.median(paired):.1f}% "
        f"(pairs: {', '.join(f'{x:.1f}' for x in paired)}) "
        f"{report.goal('audit', 'audit throughput overhead (paired median)', statistics.median(paired), '<=', 10, unit='%')}"
    )


# --- 2. The chain design, measured -----------------------------------------------------------------


def _designs(url: str) -> None:
    import psycopg2

    print("2. Chain design: 8 writers, one event per transaction, 10s each")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_chained (seq bigint PRIMARY KEY, body text NOT NULL, "
            "prev_hash bytea NOT NULL, hash bytea NOT NULL)"
        )
    body = '[1, 0, 0, "0", 2, 17, "alice", "ice-hsi", "analyst", null, null, "cases.case_viewed", "case", "42", ["person:1"]]'

    def unchained(cur) -> None:
        cur.execute(
            "INSERT INTO audit_event (occurred_at, action, outcome, subjects) VALUES (now(), 'cases.case_viewed', 'allowed', '{person:1}')"
        )

    def chained(cur) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(4242)")
        cur.execute("SELECT seq, hash FROM bench_chained ORDER BY seq DESC LIMIT 1")
        row = cur.fetchone()
        seq, prev = (row[0] + 1, bytes(row[1])) if row else (1, bytes(32))
        digest = hashlib.sha256(prev + body.encode()).digest()
        cur.execute("INSERT INTO bench_chained VALUES (%s, %s, %s, %s)", [seq, body, prev, digest])

    for name, insert in (
        ("unchained insert (sealer)", unchained),
        ("chained at insert under a lock", chained),
    ):
        counts, _waits = _writers(url, insert, seconds=10, writers=8, stall_ms=0)
        _, stalled_waits = _writers(url, insert, seconds=6, writers=8, stall_ms=200)
        p99 = (
            statistics.quantiles(stalled_waits, n=100)[98] * 1000
            if len(stalled_waits) > 100
            else float("nan")
        )
        print(
            f"   {name:32s}: {sum(counts) / 10:8.0f} events/s; with one writer holding its transaction 200 ms, "
            f"the others' p99 commit time is {p99:.0f} ms"
        )


def _writers(
    url: str, insert, *, seconds: float, writers: int, stall_ms: int
) -> tuple[list[int], list[float]]:
    import psycopg2

    stop = time.monotonic() + seconds
    counts = [0] * writers
    waits: list[list[float]] = [[] for _ in range(writers)]

    def work(i: int) -> None:
        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            while time.monotonic() < stop:
                started = time.perf_counter()
                insert(cur)
                if stall_ms and i == 0:
                    time.sleep(stall_ms / 1000)  # a long transaction after its audit insert
                conn.commit()
                counts[i] += 1
                if i:
                    waits[i].append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts, [w for ws in waits for w in ws]


# --- 3. Sealing and verifying N events ---------------------------------------------------------------


def _verify_size(n: int) -> None:
    from django.db import connection, transaction

    from audit import chain

    chain.seal_pending()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM audit_seal")
        have = int(cur.fetchone()[0])
    need = max(n - have, 0)
    print(f"3. Chain of {n:,} events: generating {need:,}")
    started = time.perf_counter()
    # The browser's secondary indexes cost insert time, not verification time: the verifier
    # reads by the two primary keys and the sealer by (txid, id). Drop them in this throwaway
    # database while generating, so that 10M events do not take an hour on two cores; part 4
    # builds them again.
    if need:
        with connection.cursor() as cur:
            for index in _browser_indexes():
                cur.execute(f"DROP INDEX IF EXISTS {index}")
    batch = 500_000
    done = 0
    while done < need:
        size = min(batch, need - done)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO audit_event (occurred_at, actor_id, actor_username, actor_agency, actor_role, action,
                    object_type, object_id, subjects, ip, user_agent, request_id, outcome, detail)
                SELECT now() - (g * interval '40 ms'), g %% 500, 'user' || (g %% 500), 'ice-hsi', 'analyst', 'cases.case_viewed',
                    'case', (g %% 100000)::text, ARRAY['person:' || (g %% 1000000), 'person:' || (g %% 777)],
                    '10.0.0.1', 'Mozilla/5.0 (bench)', md5(g::text), 'allowed', jsonb_build_object('page', g %% 7)
                FROM generate_series(%s, %s) g
                """,
                [done + 1, done + size],
            )
        done += size
    generated = time.perf_counter() - started
    started = time.perf_counter()
    sealed = chain.seal_pending(batch=100_000)
    seal_seconds = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE audit_event")
        cur.execute("VACUUM ANALYZE audit_seal")
        # The verifier should not pay for writing out pages the generation (or part 1) dirtied.
        cur.execute("CHECKPOINT")
    load = _settle()
    busy_before, stolen_before = _machine_cpu()
    result = chain.verify(to_seq=n, use_checkpoints=False)
    busy_after, stolen_after = _machine_cpu()
    rate = result.checked / result.seconds if result.seconds else float("nan")
    print(
        f"   generated in {generated:.0f}s; sealed {sealed:,} in {seal_seconds:.0f}s ({sealed / max(seal_seconds, 1e-9):,.0f} events/s)"
    )
    print(
        f"   verified {result.checked:,} events in {result.seconds:.1f}s: {rate:,.0f} events/s "
        f"{report.goal('audit', f'chain verification events/s at {n:,} events', rate, '>=', 200_000, unit='/s')}, "
        f"intact={result.ok}; load average {load:.2f} at the start"
    )
    if result.checked and busy_after > busy_before:
        # The rate is bounded by CPU: both cores busy for the whole run. What the machine spent per
        # event, and what its host took away (steal), say how far another run may differ.
        print(
            f"   machine CPU {(busy_after - busy_before) / result.checked * 1e6:.2f} us per event over "
            f"{os.cpu_count()} cores ({(busy_after - busy_before) / result.seconds / (os.cpu_count() or 1):.0%} busy), "
            f"{stolen_after - stolen_before:.1f}s stolen by the host"
        )


def _browser_indexes() -> dict[str, str]:
    """The browser's indexes on audit_event (name: CREATE statement), from migration 0001's own text."""
    from importlib import import_module

    sql = import_module("audit.migrations.0001_initial").TABLES
    found = re.finditer(r"CREATE INDEX (audit_event_\w+) ON audit_event\b[^;]*;", sql)
    return {m.group(1): m.group(0) for m in found if m.group(1) != "audit_event_txid"}


# --- 4. The browser over the largest chain ---------------------------------------------------------


def _browser(samples: int = 20) -> None:
    """Latency of the supervisors' browser pages over every event of part 3, per kind of filter."""
    import random

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from privacy.models import User

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        for statement in _browser_indexes().values():
            cur.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        cur.execute("ANALYZE audit_event")
        cur.execute(
            "SELECT count(*), min(id), max(id), min(occurred_at), max(occurred_at) FROM audit_event"
        )
        total, lo, hi, first, last = cur.fetchone()
        cur.execute("SELECT action FROM audit_event WHERE id = %s", [lo])
        action = cur.fetchone()[0]
    built = time.perf_counter() - started
    if not User.objects.filter(username="sam").exists():
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", stdout=quiet)
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = _session_cookie(User.objects.get(username="sam"))
    rng = random.Random(7)
    span = (last - first).total_seconds()

    def day() -> str:
        d = (first + timedelta(seconds=rng.uniform(0, span))).date().isoformat()
        return f"/audit/?start={d}&end={d}"

    # The generator's actors are ids 0-499 (about total/500 events each) and its people
    # person:0-999999 (a few events each) and person:0-776 (about total/777 each).
    kinds = {
        "newest page": lambda: "/audit/",
        "a page deep in the trail": lambda: f"/audit/?before={rng.randint(lo, hi)}",
        "one user": lambda: f"/audit/?user={rng.randrange(500)}",
        "one user, deep page": lambda: f"/audit/?user={rng.randrange(500)}&before={rng.randint(lo, hi)}",
        "one rarely seen person": lambda: f"/audit/?person={rng.randrange(777, 1_000_000)}",
        "one often seen person": lambda: f"/audit/?person={rng.randrange(777)}",
        "one action, one agency": lambda: f"/audit/?action={action}&agency=ice-hsi",
        "one day": day,
        "denied only": lambda: "/audit/?outcome=denied",
        "one case": lambda: f"/audit/?case={rng.randrange(1, 100_000)}",
        "a user's timeline": lambda: f"/audit/users/{rng.randrange(500)}/",
    }
    _settle()
    print(
        f"4. Browser over {total:,} events (indexes built in {built:.0f}s), as supervisor sam, "
        f"{samples} requests each, in process:"
    )
    for name, make in kinds.items():
        times = []
        for _ in range(samples):
            path = make()
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"bench audit: {path} answered {response.status_code}")
        times.sort()
        print(
            f"   {name:28} p50 {statistics.median(times):7.1f} ms   p95 {times[int(0.95 * (len(times) - 1))]:7.1f} ms"
            f"   max {times[-1]:7.1f} ms"
        )


def _machine_cpu() -> tuple[float, float]:
    """Seconds of CPU this machine has spent busy (user, nice, system) and stolen by its host, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            ticks = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    return (ticks[0] + ticks[1] + ticks[2]) / hz, (ticks[7] if len(ticks) > 7 else 0) / hz


def _settle(limit: float = 90.0) -> float:
    """Wait (at most `limit` s) until what ran before has finished: the 1-minute load average under 1."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= 1.0 and time.monotonic() < deadline:
        time.sleep(2)
    return os.getloadavg()[0]
