# ruff: noqa: N999  (the area is called "import", as `make bench AREA=import` names it)
"""`make bench AREA=import [SCALE=n]`: bulk case import with the instant result, against plain COPY.

In a throw-away database: SSA and DHS reference files for N synthetic people are loaded through
`load_reference`, then one CSV of N new hires (about 90% citizens and 10% permanent residents;
about 1.5% with a name that does not match SSA and 0.5% with an SSN SSA does not know) is
imported through the product's path (`import_stage` + `import_run`: every row checked by the
single submit's rules, the instant match set-based, cases and comparisons written with COPY).
The baseline, measured in the same run, is a plain COPY of the same file into a table of text
columns without indexes. Goal: at least 20,000 cases/s imported with their instant result at 1M.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench import report
from bench.people import person

DEFAULT_SCALE = 200_000
GOAL_PER_SECOND = 20_000


def _files(n: int, folder: Path, seed: int) -> tuple[Path, Path, Path]:
    """The SSA and DHS extracts and the import file of `n` people."""
    rnd = random.Random(seed)
    today = date.today()
    ssa_path, dhs_path, cases_path = folder / "ssa.csv", folder / "dhs.csv", folder / "hires.csv"
    from verification.imports.reading import COLUMNS
    from verification.loading import COLUMNS as REF

    with (
        ssa_path.open("w", newline="") as ssa,
        dhs_path.open("w", newline="") as dhs,
        cases_path.open("w", newline="") as cases,
    ):
        s, d, c = csv.writer(ssa), csv.writer(dhs), csv.DictWriter(cases, fieldnames=list(COLUMNS))
        s.writerow(REF["ssa"])
        d.writerow(REF["dhs"])
        c.writeheader()
        for i in range(n):
            ssa_row, dhs_row, row = person(i, rnd, today)
            if ssa_row:
                s.writerow(ssa_row)
            if dhs_row:
                d.writerow(dhs_row)
            c.writerow({k: row.get(k, "") for k in COLUMNS})
    return ssa_path, dhs_path, cases_path


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc): the database backend's share of the work."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _plain_copy(path: Path) -> float:
    """Seconds to COPY the file into a table of text columns with no index: the floor."""
    from django.db import connection, transaction

    from verification.imports.reading import COLUMNS

    columns = ", ".join(f"{c} text" for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"CREATE TABLE bench_plain_copy ({columns})")
        started = time.perf_counter()
        with path.open() as fh:
            cur.cursor.copy_expert(
                "COPY bench_plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)", fh
            )
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_plain_copy")
    return seconds


_FOREIGN_KEYS = (
    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname"
)
_TRIGGERS = (
    "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
    "WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname"
)


def _defs(cur: Any, sql: str, table: str) -> list[str]:
    """The definitions `sql` lists for `table` (`_FOREIGN_KEYS`, `_TRIGGERS`)."""
    cur.execute(sql, [table])
    return [r[0] for r in cur.fetchall()]


FLOOR_CASE, FLOOR_COMPARISON = "bench_floor_case", "bench_floor_comparison"


def _floor_tables(cur: Any) -> None:
    """Empty copies of the case and comparison tables: their columns, defaults, checks and
    indexes, their foreign keys (the comparisons' to the copy of the cases) and triggers."""
    from verification.models import CaseComparison, VerificationCase

    case, comp = VerificationCase._meta.db_table, CaseComparison._meta.db_table
    cur.execute(f"CREATE TABLE {FLOOR_CASE} (LIKE {case} INCLUDING ALL)")
    cur.execute(f"CREATE TABLE {FLOOR_COMPARISON} (LIKE {comp} INCLUDING ALL)")
    for table, copy in ((case, FLOOR_CASE), (comp, FLOOR_COMPARISON)):
        for n, definition in enumerate(_defs(cur, _FOREIGN_KEYS, table)):
            definition = re.sub(
                rf"REFERENCES (\w+\.)?{case}\(", f"REFERENCES {FLOOR_CASE}(", definition
            )
            cur.execute(f"ALTER TABLE {copy} ADD CONSTRAINT {copy}_fk{n} {definition}")
        for definition in _defs(cur, _TRIGGERS, table):
            cur.execute(re.sub(rf" ON (\w+\.)?{table} ", f" ON {copy} ", definition, count=1))


def _write_floor(employer_id: int) -> tuple[float, float, int, int]:
    """PostgreSQL's floor for the import's writes: the cases and comparisons it wrote, already
    built, copied again into empty tables with the product tables' indexes, checks, foreign keys
    and row-history trigger, as the import writes them (`bulk_insert`, constraints checked per
    statement). Seconds, the backend's CPU seconds, cases, comparisons.

    No Python, no reads, no worker rows, no audit event: only the two COPYs every import must
    do. A rate above what this allows cannot come from Python; it would take a leaner schema.
    """
    from django.db import connection, transaction

    from audit.history import bulk_insert
    from verification.models import CaseComparison, VerificationCase

    case, comp = VerificationCase._meta.db_table, CaseComparison._meta.db_table
    cases, comps = io.StringIO(), io.StringIO()
    with connection.cursor() as cur:
        cur.cursor.copy_expert(
            f"COPY (SELECT * FROM {case} WHERE employer_id = {int(employer_id)} ORDER BY id) TO STDOUT",  # nosec B608 # our tables
            cases,
        )
        cur.cursor.copy_expert(
            f"COPY (SELECT p.* FROM {comp} p JOIN {case} c ON c.id = p.case_id "  # nosec B608 # our tables
            f"WHERE c.employer_id = {int(employer_id)} ORDER BY p.id) TO STDOUT",
            comps,
        )
        # Created and committed apart: rows copied into a table created in the same transaction
        # could skip the write-ahead log, which the product's tables never do.
        with transaction.atomic():
            _floor_tables(cur)
        try:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
            cpu = _cpu_seconds(backend)
            started = time.perf_counter()
            with transaction.atomic(), bulk_insert():
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table, buffer in ((FLOOR_CASE, cases), (FLOOR_COMPARISON, comps)):
                    buffer.seek(0)
                    cur.cursor.copy_expert(f"COPY {table} FROM STDIN", buffer)
            seconds = time.perf_counter() - started
            cpu = _cpu_seconds(backend) - cpu
            cur.execute(
                f"SELECT (SELECT count(*) FROM {FLOOR_CASE}), (SELECT count(*) FROM {FLOOR_COMPARISON})"  # nosec B608 # our tables
            )
            n_cases, n_comps = cur.fetchone()
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {FLOOR_COMPARISON}, {FLOOR_CASE}")
    return seconds, cpu, n_cases, n_comps


def run(scale: int | None, seed: int | None = None) -> None:
    """Import `scale` cases (default 200k; SCALE=1000000 for the goal's size) and print the figures."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.__main__ import require_free_disk

    n = scale or int(os.environ.get("BENCH_IMPORT_SCALE", DEFAULT_SCALE))
    require_free_disk(str(settings.BASE_DIR), max(2.0, n * 6000 / 2**30))
    connection.settings_dict.setdefault("TEST", {})["NAME"] = os.environ.get(
        "BENCH_IMPORT_DB", "bench_crosscheck_import"
    )
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        _measure(n, seed if seed is not None else 7)
    finally:
        connection.close()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            connection.creation.destroy_test_db(old_name, verbosity=0)


def _measure(n: int, seed: int) -> None:
    from django.db import connection

    from verification.imports.jobs import import_run
    from verification.imports.staging import import_stage
    from verification.loading import load_reference
    from verification.models import CaseComparison, Employer, ImportMode

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        ssa, dhs, cases = _files(n, Path(folder), seed)
        load_reference(source="ssa", path=ssa)
        load_reference(source="dhs", path=dhs)
        employer = Employer.objects.create(
            ein="123456789",
            name="Bench Co",
            naics="311812",
            state="TX",
            mou_signed_on=date(2024, 1, 1),
        )
        print(
            f"import: {n:,} people, references loaded in {time.perf_counter() - started:.1f}s "
            f"({cases.stat().st_size / 2**20:.0f} MiB file)"
        )
        copy_seconds = _plain_copy(cases)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        db_cpu = _cpu_seconds(backend)
        cpu = time.process_time()
        started = time.perf_counter()
        with cases.open("rb") as fh:
            job = import_stage(
                actor=None,
                employer=employer,
                stream=fh,
                file_name="hires.csv",
                mode=ImportMode.ALL_OR_NOTHING,
                channel="command",
            )
        staged = time.perf_counter() - started
        marks: dict[str, float] = {}

        def progress(j: object) -> None:
            if getattr(j, "status", "") == "importing" and "validated" not in marks:
                marks["validated"] = time.perf_counter() - started

        job = import_run(job_id=job.pk, progress=progress)
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu
        db_cpu = _cpu_seconds(backend) - db_cpu
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM verification_verificationcase WHERE submitted_at IS NOT NULL"
            )
            with_result = cur.fetchone()[0]
        comparisons = CaseComparison.objects.count()
        with open("/proc/loadavg") as fh:
            load = fh.read().split()[0]
        rate = job.rows_imported / total if total else 0.0
        print(
            f"import: job {job.status}: {job.rows_imported:,} cases created with their instant result "
            f"({with_result:,} in the table with a result, {comparisons:,} comparisons), {job.rows_invalid} bad rows; "
            f"by status {dict(sorted(job.results.items()))}"
        )
        validated = marks.get("validated", staged)
        print(
            f"import: staged {staged:.1f}s, validated {validated - staged:.1f}s, imported {total - validated:.1f}s; "
            f"total {total:.1f}s, Python CPU {cpu:.1f}s, load average {load} on {os.cpu_count()} cores"
        )
        print(
            f"import: all or nothing, one process (one transaction): {rate:,.0f} cases/s imported with "
            f"the instant result | plain COPY of the same file "
            f"{copy_seconds:.1f}s = {n / copy_seconds:,.0f} rows/s | the import takes "
            f"{total / copy_seconds:.1f}x the plain COPY"
        )
        per_case = (cpu + db_cpu) / max(1, job.rows_imported) * 1e6
        print(
            f"import: CPU per case {cpu / max(1, job.rows_imported) * 1e6:.0f} us in Python + "
            f"{db_cpu / max(1, job.rows_imported) * 1e6:.0f} us in PostgreSQL: on two idle cores one import "
            f"process would reach about {1e6 / per_case:,.0f} cases/s (the machine's load, not measured "
            "work, makes up the rest of the wall time above)"
        )
        runners = int(os.environ.get("BENCH_IMPORT_RUNNERS", "2"))
        if runners > 1:
            _parallel(cases, runners, copy_seconds)
        # Last: its writes (and the checkpoints they bring on) must not slow the phases above.
        floor, floor_cpu, floor_cases, floor_comps = _write_floor(employer.pk)
        floor_rate = floor_cases / floor if floor else 0.0
        print(
            f"import: PostgreSQL's write floor (the same {floor_cases:,} cases and {floor_comps:,} "
            f"comparisons, as written, copied again into empty tables with the product tables' "
            f"indexes, foreign keys and triggers; no Python, reads, workers or audit): {floor:.1f}s "
            f"= {floor_rate:,.0f} cases/s, {floor_cpu / max(1, floor_cases) * 1e6:.0f} us of "
            f"PostgreSQL CPU per case | the import takes {total / floor:.1f}x the floor"
            if floor
            else "import: no write floor (nothing was imported)"
        )
        goal = report.goal(
            "import",
            f"cases/s imported with the instant result, all or nothing, {n:,} rows (goal at 1M)",
            rate,
            ">=",
            GOAL_PER_SECOND,
            unit="/s",
            detail=f"PostgreSQL write floor {floor_rate:,.0f}/s",
        )
        print(f"import: all or nothing, one process: {rate:,.0f} cases/s {goal}")


def _runner(job_id: int) -> None:
    from django.db import connection

    from verification.imports.jobs import import_run

    connection.close()  # a connection of its own, not the parent's
    import_run(job_id=job_id)
    connection.close()


def _parallel(cases: Path, runners: int, copy_seconds: float) -> None:
    """The same file for a second employer, good rows only, imported by `runners` processes."""
    import multiprocessing

    from django.db import connection

    from verification.imports.staging import import_stage
    from verification.models import Employer, ImportJob, ImportMode

    employer = Employer.objects.create(
        ein="223456789",
        name="Bench Two",
        naics="311812",
        state="TX",
        mou_signed_on=date(2024, 1, 1),
    )
    started = time.perf_counter()
    with cases.open("rb") as fh:
        job = import_stage(
            actor=None,
            employer=employer,
            stream=fh,
            file_name="hires.csv",
            mode=ImportMode.GOOD_ROWS,
            channel="command",
        )
    connection.close()
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_runner, args=(job.pk,)) for _ in range(runners)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    total = time.perf_counter() - started
    job = ImportJob.objects.get(pk=job.pk)
    print(
        f"import: good rows only, {runners} processes (chunks committed one by one): job {job.status}, "
        f"{job.rows_imported:,} cases in {total:.1f}s = {job.rows_imported / total:,.0f} cases/s "
        f"{report.goal('import', f'cases/s, good rows only, {runners} processes', job.rows_imported / total, '>=', GOAL_PER_SECOND, unit='/s')} | "
        f"{total / copy_seconds:.1f}x the plain COPY"
    )
