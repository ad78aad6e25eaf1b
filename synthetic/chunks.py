"""The work of one loader process: a chunk of people, built as COPY lines and copied.

The parent decides every id and load row beforehand (`Plan`) and shares the plan with the worker
processes by fork (`shared`); each task then builds its rows without asking the database
anything, seals their identifiers (AES-GCM bound to each row id, blind index, last four), and
copies them in one transaction of its own. A task is the Numident and DHS rows, workers and cases
of people [lo, hi), or all the enforcement subjects.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, connections, transaction

from privacy import crypto
from synthetic import columns as cols
from synthetic import rows as srows
from synthetic.case_lines import CASE_COPY_COLUMNS, CASE_TABLE, FIELD, case_line
from synthetic.world import World
from verification.copying import copy_line
from verification.loading import COPY_COLUMNS, document_of
from verification.models import (
    EnforcementSubject,
    ImmigrationRecord,
    Numident,
    ReferenceSource,
    Worker,
)

# table -> (rows, seconds building them, seconds copying them)
Timings = dict[str, tuple[int, float, float]]


@dataclass
class Plan:
    """Ids and load rows decided by the parent, shared with the workers by fork."""

    world: World
    employer_ids: range
    site_ids: range
    numident_ids: range
    dhs_people: np.ndarray
    dhs_ids: range
    enforcement_ids: range
    worker_of_case: list[int]
    worker_first_case: list[int]
    worker_ids: range
    case_ids: range
    cases_by_person: list[int]
    person_case_start: list[int]
    load_ids: dict[str, int]
    now: str


_PLAN: Plan | None = None


@contextmanager
def shared(plan: Plan) -> Iterator[None]:
    """Make `plan` the one the tasks read while the block runs (forked workers inherit it)."""
    global _PLAN
    _PLAN = plan
    try:
        yield
    finally:
        _PLAN = None


WORKER_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "employer_id",
    "ssn_bidx",
    "ssn_last4",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
]
NUMIDENT_TABLE = Numident._meta.db_table
_SSN, _CREATED_AT = FIELD["ssn"], FIELD["created_at"]


def copy_lines(table: str, columns: list[str], lines: list[str]) -> None:
    """COPY lines of PostgreSQL's text format into `columns` of `table`."""
    if not lines:
        return
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)",
            io.BytesIO("".join(lines).encode()),
            size=1 << 20,
        )


def run_chunk(task: tuple[int, int]) -> Timings:
    """People [lo, hi): their Numident and DHS rows, workers and cases, copied in one transaction
    (a `lo` below zero: the first `hi` enforcement subjects)."""
    lo, hi = task
    if lo < 0:
        return _run_enforcement(hi)
    plan = _PLAN
    assert plan is not None
    key, ring = crypto.blind_index_key(), crypto.keyring()
    started = time.perf_counter()
    ppl = cols.people(plan.world, lo, hi)
    bidx = [crypto.blind_index(s, kind="ssn", key=key) for s in ppl.ssn]
    numident = _numident_lines(plan, lo, ppl, bidx, ring)
    t_numident = time.perf_counter()
    dhs = _dhs_lines(plan, lo, ppl, key, ring)
    t_dhs = time.perf_counter()
    workers, cases = _worker_and_case_lines(plan, lo, hi, bidx, key, ring)
    t_cases = time.perf_counter()
    with transaction.atomic():
        copy_lines(NUMIDENT_TABLE, COPY_COLUMNS[ReferenceSource.SSA], numident)
        t1 = time.perf_counter()
        copy_lines(ImmigrationRecord._meta.db_table, COPY_COLUMNS[ReferenceSource.DHS], dhs)
        t2 = time.perf_counter()
        copy_lines(Worker._meta.db_table, WORKER_COLUMNS, workers)
        t3 = time.perf_counter()
        copy_lines(CASE_TABLE, CASE_COPY_COLUMNS, cases)
        t4 = time.perf_counter()
    return {
        "numident": (len(numident), t_numident - started, t1 - t_cases),
        "dhs": (len(dhs), t_dhs - t_numident, t2 - t1),
        "workers": (len(workers), 0.0, t3 - t2),
        "cases": (len(cases), t_cases - t_dhs, t4 - t3),
    }


def run_in_child(task: tuple[int, int]) -> Timings:
    """`run_chunk` in a worker process, which closes its connections after each task."""
    try:
        return run_chunk(task)
    finally:
        connections.close_all()


def _numident_lines(
    plan: Plan, lo: int, ppl: cols.People, bidx: list[str], ring: crypto.Keyring
) -> list[str]:
    """The Numident rows of the chunk's people, their SSN sealed under its row id."""
    ssa_load = str(plan.load_ids[ReferenceSource.SSA])
    out = []
    for j, ssn in enumerate(ppl.ssn):
        rid = plan.numident_ids[lo + j]
        out.append(
            "\t".join(
                (
                    str(rid),
                    ssa_load,
                    crypto.encrypt(
                        ssn, table=NUMIDENT_TABLE, column="ssn_enc", row_id=rid, ring=ring
                    ),
                    bidx[j],
                    ssn[-4:],
                    ppl.first[j],
                    ppl.middle[j],
                    ppl.last[j],
                    ppl.dob[j],
                    ppl.citizenship[j],
                    ppl.death[j] or "\\N",
                    "t" if ppl.locked[j] else "f",
                )
            )
            + "\n"
        )
    return out


def _dhs_lines(
    plan: Plan, lo: int, ppl: cols.People, key: bytes, ring: crypto.Keyring
) -> list[str]:
    """The DHS records of the chunk's people who have one, in the product loader's layout."""
    dhs_load = plan.load_ids[ReferenceSource.DHS]
    d_lo = int(np.searchsorted(plan.dhs_people, lo))
    return [
        copy_line(
            ReferenceSource.DHS,
            cols.dhs_dict(ppl, j),
            row_id=plan.dhs_ids[d_lo + k],
            load_id=dhs_load,
            key=key,
            ring=ring,
        )
        for k, j in enumerate(ppl.dhs)
    ]


def _worker_and_case_lines(
    plan: Plan, lo: int, hi: int, bidx: list[str], key: bytes, ring: crypto.Keyring
) -> tuple[list[str], list[str]]:
    """The cases of the chunk's people, and each worker with the first case that names it."""
    w = plan.world
    workers, cases = [], []
    cache: dict[int, Any] = {}
    employer_ids = plan.employer_ids
    for c in plan.cases_by_person[plan.person_case_start[lo] : plan.person_case_start[hi]]:
        values = cols.case_values(w, c, cache)
        person = w.cl["person"][c]
        b = (
            bidx[person - lo]
            if not w.cl["ssn_override"][c]
            else crypto.blind_index(values[_SSN], kind="ssn", key=key)
        )
        worker = plan.worker_of_case[c]
        employer_id = employer_ids[w.cl["employer"][c]]
        if plan.worker_first_case[worker] == c:
            workers.append(
                "\t".join(
                    (
                        str(plan.worker_ids[worker]),
                        values[_CREATED_AT],
                        plan.now,
                        str(employer_id),
                        b,
                        values[_SSN][-4:],
                        values[1],
                        values[2],
                        values[3],
                        "",
                    )
                )
                + "\n"
            )
        site = w.cl["site"][c]
        cases.append(
            case_line(
                values,
                case_id=plan.case_ids[c],
                employer_id=employer_id,
                site_id=plan.site_ids[site] if site >= 0 else None,
                worker_id=plan.worker_ids[worker],
                ssn_bidx=b,
                key=key,
                ring=ring,
            )
        )
    return workers, cases


def _clean_ref(row: dict[str, Any]) -> dict[str, Any]:
    """A reference row as the generator writes it, as the product loader's cleaner gives it."""
    out = dict(row)
    for k, v in row.items():
        if v == "" and k in (
            "death_date",
            "work_authorized_from",
            "work_authorized_until",
            "naturalized_on",
        ):
            out[k] = None
    if "aliases" in out:
        out["aliases"] = [a for a in out["aliases"].split("|") if a]
        out["documents"] = [document_of(d) for d in out["documents"].split("|") if d]
    return out


def _run_enforcement(count: int) -> Timings:
    """The `count` enforcement subjects, copied in one transaction."""
    plan = _PLAN
    assert plan is not None
    w = plan.world
    key, ring = crypto.blind_index_key(), crypto.keyring()
    started = time.perf_counter()
    enf_load = plan.load_ids[ReferenceSource.ENFORCEMENT]
    lines = [
        copy_line(
            ReferenceSource.ENFORCEMENT,
            _clean_ref(srows.enforcement_row(w, k)),
            row_id=plan.enforcement_ids[k],
            load_id=enf_load,
            key=key,
            ring=ring,
        )
        for k in range(count)
    ]
    built = time.perf_counter()
    with transaction.atomic():
        copy_lines(
            EnforcementSubject._meta.db_table, COPY_COLUMNS[ReferenceSource.ENFORCEMENT], lines
        )
    return {"enforcement": (len(lines), built - started, time.perf_counter() - built)}
