"""`make bench AREA=data SCALE=1000000`: generate and load N verification cases with their references.

Runs in a throw-away database (created, migrated, dropped). Prints the wall time of generating +
sealing + COPY of every table (P6, goal: at most 45 s for 1M cases on 2 cores) and, next to it, the
COPY rows/s of the same run.
"""

from __future__ import annotations

import os
import statistics
import time

from bench import report

DEFAULT_SCALE = 1_000_000
GOAL_SECONDS = 45.0


def _bytes_per_case() -> int:
    # ~2.2 kB per case over cases, workers, Numident, DHS and their indexes, with a margin.
    return 4_000


def run(scale: int | None) -> None:
    """Generate and load `scale` cases into a fresh database; print the figures."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.__main__ import require_free_disk
    from synthetic.generate import build, load_world

    n = scale or DEFAULT_SCALE
    require_free_disk(str(settings.BASE_DIR), max(2.0, n * _bytes_per_case() / 2**30))
    workers = int(os.environ.get("BENCH_WORKERS", os.cpu_count() or 2))
    connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get(
        "BENCH_DATA_DB", "bench_crosscheck_data"
    )
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        employers = max(10, n // 50)
        started = time.perf_counter()
        cpu_started = time.process_time()
        world = build(n_employers=employers, n_cases=n, seed=int(os.environ.get("BENCH_SEED", "1")))
        built = time.perf_counter() - started
        summary = load_world(
            world,
            workers=workers,
            rebuild_indexes=os.environ.get("BENCH_REBUILD_INDEXES", "1") != "0",
        )
        total = time.perf_counter() - started
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        python_cpu = time.process_time() - cpu_started + children.ru_utime + children.ru_stime
        with open("/proc/loadavg") as fh:
            load = fh.read().split()[0]
        rows = summary.total_rows
        print(
            f"data: {n:,} cases, {employers:,} employers, {summary.rows.get('numident', 0):,} Numident, "
            f"{summary.rows.get('dhs', 0):,} DHS, {summary.rows.get('enforcement', 0):,} enforcement, "
            f"{summary.rows.get('workers', 0):,} workers: {rows:,} rows"
        )
        print(
            f"data: world decided in {built:.1f}s; sealed + copied in {summary.seconds:.1f}s with {workers} processes; "
            f"Python CPU {python_cpu:.1f}s over all processes; load average at the end {load} on {os.cpu_count()} cores"
        )
        print(
            f"data: generate+load {total:.1f}s "
            f"{report.goal('data', f'generate+load {n:,} cases (goal scaled from 1M)', total, '<=', GOAL_SECONDS * n / 1_000_000, unit='s')}: "
            f"{rows / total:,.0f} rows/s overall | COPY alone {summary.copy_rows_per_second:,.0f} rows/s per stream "
            f"({rows / max(1e-9, sum(summary.copy_seconds.values()) / workers):,.0f} rows/s over {workers} streams)"
        )
        if "indexes" in summary.build_seconds:
            print(
                f"data:   secondary indexes, statistics (ANALYZE) and unique/foreign-key constraints built after the load "
                f"in {summary.build_seconds['indexes']:.1f}s over {workers} connections"
            )
        for table in ("numident", "dhs", "enforcement", "workers", "cases"):
            if table in summary.build_seconds:
                print(
                    f"data:   {table:<12} {summary.rows[table]:>10,} rows  build {summary.build_seconds[table]:6.1f}s  "
                    f"copy {summary.copy_seconds[table]:6.1f}s (summed over processes)"
                )
        if os.environ.get("BENCH_LATENCY", "1") != "0":
            from bench.latency import describe, measure

            figures = measure(requests=int(os.environ.get("BENCH_LATENCY_REQUESTS", "300")))
            print(
                f"data: P3, one client, {figures['n']} submits in the mix 70% clean / 15% SSA mismatch / "
                f"10% DHS look-up / 5% near match: p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms "
                f"{report.goal('data', 'P3 instant result p95, 1 client, mix', figures['p95'], '<=', 50, unit=' ms')}, "
                f"p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms"
            )
            for line in describe(figures):
                print(line)
            if figures["sustained_errors"]:
                report.note(f"P3 sustained: non-2xx answers {figures['sustained_errors']}")
            if figures["exhausted"]:
                report.note(
                    f"P3 sustained: {figures['exhausted']} submit phase(s) ran out of fresh people "
                    "before their time: their rates are not a sustained figure"
                )
            # The ratio alone hides which side moved: a cheaper key look-up or rate limit speeds
            # up both sides and lowers it.
            rates = (
                f"{statistics.median(figures['submits_per_second']):.0f} submits/s vs "
                f"{statistics.median(figures['trivial_per_second']):.0f}/s"
            )
            print(
                f"data: P3 sustained submits / trivial authenticated endpoint, 8 clients: {figures['ratio']:.2f} "
                f"{report.goal('data', 'P3 sustained submits / trivial endpoint, 8 clients', figures['ratio'], '>=', 0.5, detail=rates)}"
            )
    finally:
        connection.close()
        if os.environ.get("BENCH_KEEP_DB") == "1":
            print(f"data: kept database {connection.settings_dict['NAME']}")
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)
