"""Loading a synthetic world straight into the database with COPY.

The parent process writes the employers and sites, opens the three reference loads in state
"loading" (invisible to `.current()`) and takes every id the rows will need (`chunks.Plan`).
Worker processes then build, seal and COPY chunks of people on every core (`synthetic.chunks`),
into tables whose indexes and constraints are rebuilt once at the end when they started empty
(`synthetic.indexes`). The three sources become current together, in one transaction, last.
The CSV files of a world are written by `synthetic.files`.
"""

from __future__ import annotations

import getpass
import math
import multiprocessing
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, connections, transaction
from django.utils import timezone

from core.collector import bulk_gc
from privacy import crypto
from synthetic import chunks, indexes
from synthetic import rows as srows
from synthetic.files import write_files
from synthetic.world import World
from verification.copying import MODELS
from verification.loading import activate_load
from verification.models import (
    Employer,
    EnforcementSubject,
    HiringSite,
    ImmigrationRecord,
    LoadStatus,
    Numident,
    ReferenceLoad,
    ReferenceSource,
    VerificationCase,
    Worker,
)


@dataclass
class LoadSummary:
    """What a synthetic load wrote, and how fast."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    copy_seconds: dict[str, float] = field(default_factory=dict)  # summed over worker processes
    build_seconds: dict[str, float] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Rows over all tables."""
        return sum(self.rows.values())

    @property
    def copy_rows_per_second(self) -> float:
        """Rows per second of COPY alone, per stream, over all tables."""
        spent = sum(self.copy_seconds.values())
        return self.total_rows / spent if spent else 0.0


def allocate_block(model: Any, count: int) -> range:
    """Take `count` consecutive ids from the model's id sequence in one step (a range).

    `allocate_ids` fetches one `nextval` per row, which costs seconds at a million rows, in the
    parent, before any worker starts. Here the sequence moves once by `count`, with the table
    locked against inserts meanwhile (an insert draws its id from the sequence). Only a
    concurrent explicit `allocate_ids` could still slip between the two calls of the one
    statement below; the bulk load runs into a database being filled, where none does, and
    such an id would collide on the primary key, loudly, never silently.
    """
    if count <= 0:
        return range(0)
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute(
            "SELECT setval(seq, nextval(seq) + %s - 1) FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) s",
            [count, table],
        )
        last = cursor.fetchone()[0]
    return range(last - count + 1, last + 1)


def load_world(
    w: World,
    *,
    workers: int = 2,
    actor: Any = None,
    progress: Callable[[str, int], None] | None = None,
    rebuild_indexes: bool = False,
) -> LoadSummary:
    """Load a world into the current database: employers, sites, references (made current), workers, cases.

    `workers` > 1 forks processes that each build and COPY chunks; it must not run inside a
    transaction (the workers use their own connections). `workers=1` runs in this process and
    may run inside one (tests). `rebuild_indexes` drops the secondary indexes of the bulk tables
    while they fill and builds them once at the end (much cheaper than row-by-row upkeep); only
    when those tables start empty, as in a fresh database.
    """
    started = time.perf_counter()
    summary = LoadSummary()
    now = timezone.now().isoformat()
    employer_ids, site_ids = _load_employers(w, now=now)
    summary.rows["employers"], summary.rows["sites"] = w.n_employers, w.n_sites
    loads = _reference_loads(w, actor=actor)
    plan = _plan(w, employer_ids=employer_ids, site_ids=site_ids, loads=loads, now=now)
    sizes = {
        "numident": w.n_people,
        "dhs": len(plan.dhs_people),
        "enforcement": len(w.s["person"]),
        "workers": len(plan.worker_ids),
        "cases": w.n_cases,
    }
    dropped = indexes.drop() if rebuild_indexes and indexes.empty() else None
    analyzed = False
    try:
        with chunks.shared(plan), bulk_gc():
            _copy_chunks(plan, sizes, summary, workers=workers, progress=progress)
    finally:
        if dropped is not None:
            index_started = time.perf_counter()
            analyzed = indexes.restore(dropped, rows=sizes, workers=workers)
            summary.build_seconds["indexes"] = time.perf_counter() - index_started
    _make_current(loads, sizes, started=started, analyzed=analyzed)
    summary.loads = {s: load.pk for s, load in loads.items()}
    summary.seconds = time.perf_counter() - started
    return summary


EMPLOYER_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "ein",
    "name",
    "naics",
    "state",
    "address",
    "city",
    "postal_code",
    "mou_signed_on",
    "is_federal_contractor",
    "status",
    "enrolled_by_id",
]
SITE_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "employer_id",
    "name",
    "address",
    "city",
    "state",
    "postal_code",
    "is_active",
]


def _load_employers(w: World, *, now: str) -> tuple[range, range]:
    """COPY the world's employers and their hiring sites; the ids they took."""
    employer_ids = allocate_block(Employer, w.n_employers)
    site_ids = allocate_block(HiringSite, w.n_sites)
    employer_lines = []
    site_lines = []
    for e in range(w.n_employers):
        row = srows.employer_row(w, e)
        employer_id = str(int(employer_ids[e]))
        employer_lines.append(
            "\t".join(
                (
                    employer_id,
                    now,
                    now,
                    row["ein"],
                    row["name"],
                    row["naics"],
                    row["state"],
                    "",
                    "",
                    "",
                    row["mou_signed_on"],
                    "t" if row["is_federal_contractor"] == "true" else "f",
                    "active",
                    "\\N",
                )
            )
            + "\n"
        )
        for k in range(int(w.e_sites[e])):
            site = srows.site_row(w, e, k)
            sid = int(site_ids[int(w.e_site_base[e]) + k])
            site_lines.append(
                "\t".join(
                    (
                        str(sid),
                        now,
                        now,
                        employer_id,
                        site["name"],
                        "",
                        site["city"],
                        site["state"],
                        "",
                        "t",
                    )
                )
                + "\n"
            )
    chunks.copy_lines(Employer._meta.db_table, EMPLOYER_COLUMNS, employer_lines)
    chunks.copy_lines(HiringSite._meta.db_table, SITE_COLUMNS, site_lines)
    return employer_ids, site_ids


# Each reference source: its owning agency, and its key in the load's row counts.
_SOURCES: dict[str, tuple[str, str]] = {
    ReferenceSource.SSA: ("ssa", "numident"),
    ReferenceSource.DHS: ("uscis", "dhs"),
    ReferenceSource.ENFORCEMENT: ("ice-hsi", "enforcement"),
}


def _reference_loads(w: World, *, actor: Any) -> dict[str, ReferenceLoad]:
    """One load per reference source, in state "loading" until `_make_current`."""
    return {
        source: ReferenceLoad.objects.create(
            source=source,
            source_agency=agency,
            file_name=f"synthetic-seed-{w.seed}-{source}",
            vintage=w.as_of,
            checksum=f"synthetic:{w.seed}:{w.n_cases}:{w.n_employers}",
            status=LoadStatus.LOADING,
            loaded_by=actor,
            loaded_by_name="" if actor else getpass.getuser(),
        )
        for source, (agency, _rows) in _SOURCES.items()
    }


def _plan(
    w: World,
    *,
    employer_ids: range,
    site_ids: range,
    loads: dict[str, ReferenceLoad],
    now: str,
) -> chunks.Plan:
    """Every id the bulk rows will take, and who is whose worker, decided before any process starts."""
    n_people = w.n_people
    dhs_people = np.flatnonzero((w.p["status"] != 0) | w.p["stale"]).astype(np.int64)
    # One worker per (employer, SSN typed).
    typed_ssn = np.where(w.c["ssn_override"] > 0, w.c["ssn_override"], w.p["ssn"][w.c["person"]])
    keys = w.c["employer"].astype(np.int64) * 1_000_000_000 + typed_ssn
    _, first_case, worker_of_case = np.unique(keys, return_index=True, return_inverse=True)
    by_person = np.argsort(w.c["person"], kind="stable")
    return chunks.Plan(
        world=w,
        employer_ids=employer_ids,
        site_ids=site_ids,
        numident_ids=allocate_block(Numident, n_people),
        dhs_people=dhs_people,
        dhs_ids=allocate_block(ImmigrationRecord, len(dhs_people)),
        enforcement_ids=allocate_block(EnforcementSubject, len(w.s["person"])),
        worker_of_case=worker_of_case.tolist(),
        worker_first_case=first_case.tolist(),
        worker_ids=allocate_block(Worker, len(first_case)),
        case_ids=allocate_block(VerificationCase, w.n_cases),
        cases_by_person=by_person.tolist(),
        person_case_start=np.searchsorted(
            w.c["person"][by_person], np.arange(n_people + 1)
        ).tolist(),
        load_ids={s: load.pk for s, load in loads.items()},
        now=now,
    )


def _copy_chunks(
    plan: chunks.Plan,
    sizes: dict[str, int],
    summary: LoadSummary,
    *,
    workers: int,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Run the chunk tasks, on `workers` forked processes or (one) in this one, adding up their figures."""
    crypto.blind_index_key(), crypto.keyring()  # read once here, inherited by the forked workers
    n_people = plan.world.n_people
    step = max(1, min(50_000, math.ceil(n_people / (workers * 4))))
    # The enforcement subjects are one task among the others (first: it starts at once).
    tasks = [(-1, sizes["enforcement"])] + [
        (lo, min(n_people, lo + step)) for lo in range(0, n_people, step)
    ]
    results: Iterable[chunks.Timings]
    if workers > 1:
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(_report(pool.imap_unordered(chunks.run_in_child, tasks), progress))
    else:
        results = list(_report(map(chunks.run_chunk, tasks), progress))
    for result in results:
        for name, (n, build, copy) in result.items():
            summary.rows[name] = summary.rows.get(name, 0) + n
            summary.build_seconds[name] = summary.build_seconds.get(name, 0.0) + build
            summary.copy_seconds[name] = summary.copy_seconds.get(name, 0.0) + copy


def _make_current(
    loads: dict[str, ReferenceLoad], sizes: dict[str, int], *, started: float, analyzed: bool
) -> None:
    """The three sources become current together; the tables the rebuild did not analyze are analyzed."""
    with transaction.atomic():
        for source, load in loads.items():
            activate_load(
                load=load,
                rows=sizes[_SOURCES[source][1]],
                seconds=time.perf_counter() - started,
                analyze=not analyzed,
            )
    if not analyzed:
        with connection.cursor() as cursor:
            for model in (Worker, VerificationCase, Employer, HiringSite):
                cursor.execute(f"ANALYZE {model._meta.db_table}")


def _report(
    results: Iterable[chunks.Timings],
    progress: Callable[[str, int], None] | None,
) -> Iterable[chunks.Timings]:
    for result in results:
        if progress:
            progress("cases", result["cases"][0] if "cases" in result else 0)
        yield result


__all__ = ["MODELS", "LoadSummary", "load_world", "write_files"]
