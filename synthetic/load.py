"""Writing a synthetic world: as CSV files, or straight into the database with COPY.

The database path seals identifiers (AES-GCM bound to each row id, blind index, last four) in
worker processes, one COPY stream each, so generation and loading use every core. Reference
rows are copied under loads in state "loading", invisible to `.current()`, and the three
sources become current together in one transaction at the end.
"""

from __future__ import annotations

import csv
import getpass
import io
import math
import multiprocessing
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection, connections, transaction
from django.db.models import BooleanField, CharField, EmailField, TextField

from privacy import crypto
from synthetic import columns as cols
from synthetic import rows as srows
from synthetic.world import World
from verification.copying import MODELS, copy_line
from verification.identifiers import KINDS
from verification.loading import COLUMNS, COPY_COLUMNS, activate_load, document_of
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


# --- CSV files -----------------------------------------------------------------------------------


def write_files(w: World, out: Path) -> dict[str, Path]:
    """Employers, sites, the three reference files (load_reference format), cases and labels."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def write(name: str, columns: list[str], items: Iterable[dict[str, Any]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for item in items:
                writer.writerow({k: ("" if v is None else v) for k, v in item.items()})
        paths[name] = path

    def write_lists(name: str, columns: list[str], items: Iterable[list[str]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(items)
        paths[name] = path

    write(
        "employers.csv",
        ["ein", "name", "naics", "state", "mou_signed_on", "is_federal_contractor"],
        (srows.employer_row(w, e) for e in range(w.n_employers)),
    )
    write(
        "sites.csv",
        ["employer_ein", "name", "city", "state"],
        (
            {**srows.site_row(w, e, k), "employer_ein": f"{int(w.e_ein[e]):09d}"}
            for e in range(w.n_employers)
            for k in range(int(w.e_sites[e]))
        ),
    )
    chunk = 50_000

    def numident_rows() -> Iterable[list[str]]:
        for lo in range(0, w.n_people, chunk):
            ppl = cols.people(w, lo, min(w.n_people, lo + chunk))
            for j in range(len(ppl.ssn)):
                yield [
                    ppl.ssn[j],
                    ppl.first[j],
                    ppl.middle[j],
                    ppl.last[j],
                    ppl.dob[j],
                    ppl.citizenship[j],
                    ppl.death[j],
                    "true" if ppl.locked[j] else "false",
                ]

    def dhs_rows() -> Iterable[dict[str, Any]]:
        for lo in range(0, w.n_people, chunk):
            ppl = cols.people(w, lo, min(w.n_people, lo + chunk))
            for j in ppl.dhs:
                yield cols.dhs_dict(ppl, j)

    write_lists("ssa.csv", COLUMNS[ReferenceSource.SSA], numident_rows())
    write("dhs.csv", COLUMNS[ReferenceSource.DHS], dhs_rows())
    write(
        "enforcement.csv",
        COLUMNS[ReferenceSource.ENFORCEMENT],
        (srows.enforcement_row(w, k) for k in range(len(w.s["person"]))),
    )

    def cases() -> Iterable[list[str]]:
        cache: dict[int, Any] = {}
        ein, base = w.el["ein"], w.el["site_base"]
        for c in range(w.n_cases):
            values = cols.case_values(w, c, cache)
            e, site = w.cl["employer"][c], w.cl["site"][c]
            yield [
                *values[: len(cols.CASE_FIELDS) - 2],
                f"{ein[e]:09d}",
                f"Site {site - base[e] + 1}" if site >= 0 else "",
            ]
            if len(cache) > 100_000:
                cache.clear()

    write_lists("cases.csv", [*cols.CASE_FIELDS[:-2], "employer_ein", "hiring_site"], cases())
    write(
        "labels.csv",
        ["employer_case_id", "employer_ein", "label", "detail"],
        (srows.label_row(w, c) for c in range(w.n_cases)),
    )
    write(
        "employer_labels.csv",
        ["employer_ein", "label"],
        (
            {"employer_ein": f"{int(w.e_ein[e]):09d}", "label": srows.employer_row(w, e)["kind"]}
            for e in range(w.n_employers)
            if w.e_kind[e] >= 0
        ),
    )
    return paths


# --- Database --------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def _template(model: Any) -> tuple[list[str], list[str], dict[str, int]]:
    """Columns of a model, the COPY default of each, and their positions."""
    columns, defaults = [], []
    for f in model._meta.concrete_fields:
        columns.append(f.column)
        if f.null:
            defaults.append("\\N")
        elif isinstance(f, BooleanField):
            defaults.append("f")
        elif isinstance(f, CharField | TextField | EmailField):
            defaults.append("")
        else:
            defaults.append("")  # must be set per row
    return columns, defaults, {c: i for i, c in enumerate(columns)}


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


@dataclass
class _Plan:
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


_PLAN: _Plan | None = None


def _seal(
    value: str, table: str, column: str, row_id: int, kind: str, key: bytes, ring: crypto.Keyring
) -> tuple[str, str, str]:
    if not value:
        return "", "", ""
    return (
        crypto.encrypt(value, table=table, column=column, row_id=row_id, ring=ring),
        crypto.blind_index(value, kind=kind, key=key),
        value[-4:],
    )


def _clean_ref(row: dict[str, Any]) -> dict[str, Any]:
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
CASE_COLUMNS, CASE_DEFAULTS, CASE_POS = _template(VerificationCase)
NUMIDENT_TABLE = Numident._meta.db_table
CASE_TABLE = VerificationCase._meta.db_table
_CASE_TEXT = (
    "employer_case_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "citizenship_status",
    "passport_country",
    "document_type",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "late_reason",
    "status",
    "result",
    "tnc_source",
    "decision",
    "closure_code",
    "closure_text",
    "work_authorization_expires_on",
    "document_expires_on",
    "tnc_issued_on",
    "fan_issued_on",
    "referred_on",
    "closed_at",
)


_F = {name: i for i, name in enumerate(cols.CASE_FIELDS)}
# Columns each case line sets, in this order; every other column takes its constant default.
_VAR_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "status_changed_at",
    "submitted_at",
    "employer_id",
    "hiring_site_id",
    "worker_id",
    "employer_case_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "citizenship_status",
    "passport_country",
    "work_authorization_expires_on",
    "document_type",
    "document_expires_on",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "late_reason",
    "status",
    "result",
    "tnc_source",
    "tnc_issued_on",
    "fan_issued_on",
    "decision",
    "referred_on",
    "closure_code",
    "closure_text",
    "closed_at",
    "ssn_enc",
    "ssn_bidx",
    "ssn_last4",
    "a_number_enc",
    "a_number_bidx",
    "a_number_last4",
    "i94_enc",
    "i94_bidx",
    "i94_last4",
    "passport_enc",
    "passport_bidx",
    "passport_last4",
    "document_number_enc",
    "document_number_bidx",
    "document_number_last4",
]
_CONST_COLUMNS = [c for c in CASE_COLUMNS if c not in _VAR_COLUMNS]
CASE_COPY_COLUMNS = _VAR_COLUMNS + _CONST_COLUMNS
_CONST_SUFFIX = "".join("\t" + CASE_DEFAULTS[CASE_POS[c]] for c in _CONST_COLUMNS) + "\n"
_NULL = "\\N"
_V = [
    _F[name]
    for name in (
        "employer_case_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "citizenship_status",
        "passport_country",
        "work_authorization_expires_on",
        "document_type",
        "document_expires_on",
        "offer_accepted_on",
        "i9_completed_on",
        "hire_date",
        "late_reason",
        "status",
        "result",
        "tnc_source",
        "tnc_issued_on",
        "fan_issued_on",
        "decision",
        "referred_on",
        "closure_code",
        "closure_text",
        "closed_at",
    )
]
_NULLABLE_V = {
    _F[name]
    for name in (
        "work_authorization_expires_on",
        "document_expires_on",
        "tnc_issued_on",
        "fan_issued_on",
        "referred_on",
        "closed_at",
    )
}
_SSN, _CREATED_AT = _F["ssn"], _F["created_at"]
_IDS = [(_F[prefix], prefix) for prefix in ("a_number", "i94", "passport", "document_number")]


_TAKE_V = operator.itemgetter(*_V)
_NULLABLE_AT = [k for k, i in enumerate(_V) if i in _NULLABLE_V]
_ID_COLUMNS = [(i, f"{prefix}_enc", KINDS[prefix]) for i, prefix in _IDS]


def _case_line(
    plan: _Plan, c: int, values: list[str], ssn_bidx: str, key: bytes, ring: crypto.Keyring
) -> str:
    w = plan.world
    cid = plan.case_ids[c]
    created_at = values[_CREATED_AT]
    site = w.cl["site"][c]
    ssn = values[_SSN]
    taken = list(_TAKE_V(values))
    for k in _NULLABLE_AT:
        if not taken[k]:
            taken[k] = _NULL
    encrypt, blind_index = crypto.encrypt, crypto.blind_index
    out = [
        str(cid),
        created_at,
        created_at,
        created_at,
        created_at,
        str(plan.employer_ids[w.cl["employer"][c]]),
        str(plan.site_ids[site]) if site >= 0 else _NULL,
        str(plan.worker_ids[plan.worker_of_case[c]]),
        *taken,
        encrypt(ssn, table=CASE_TABLE, column="ssn_enc", row_id=cid, ring=ring),
        ssn_bidx,
        ssn[-4:],
    ]
    for i, column, kind in _ID_COLUMNS:
        value = values[i]
        if value:
            out += (
                encrypt(value, table=CASE_TABLE, column=column, row_id=cid, ring=ring),
                blind_index(value, kind=kind, key=key),
                value[-4:],
            )
        else:
            out += ("", "", "")
    return "\t".join(out) + _CONST_SUFFIX


def _copy(table: str, columns: list[str], lines: list[str]) -> None:
    if not lines:
        return
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)",
            io.BytesIO("".join(lines).encode()),
            size=1 << 20,
        )


def _run_chunk(task: tuple[int, int]) -> dict[str, tuple[int, float, float]]:
    """People [lo, hi): their Numident and DHS rows, workers and cases, copied in one transaction.

    Returns table -> (rows, build seconds, copy seconds).
    """
    lo, hi = task
    if lo < 0:
        return _run_enforcement(hi)
    plan = _PLAN
    assert plan is not None
    w = plan.world
    key, ring = crypto.blind_index_key(), crypto.keyring()
    started = time.perf_counter()
    ppl = cols.people(w, lo, hi)
    ssa_load, dhs_load = str(plan.load_ids[ReferenceSource.SSA]), plan.load_ids[ReferenceSource.DHS]
    numident, dhs, workers, cases = [], [], [], []
    bidx = [crypto.blind_index(s, kind="ssn", key=key) for s in ppl.ssn]
    for j, ssn in enumerate(ppl.ssn):
        rid = plan.numident_ids[lo + j]
        numident.append(
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
    t_numident = time.perf_counter()
    d_lo = int(np.searchsorted(plan.dhs_people, lo))
    for k, j in enumerate(ppl.dhs):
        dhs.append(
            copy_line(
                ReferenceSource.DHS,
                cols.dhs_dict(ppl, j),
                row_id=plan.dhs_ids[d_lo + k],
                load_id=dhs_load,
                key=key,
                ring=ring,
            )
        )
    t_dhs = time.perf_counter()
    c_lo, c_hi = plan.person_case_start[lo], plan.person_case_start[hi]
    cache: dict[int, Any] = {}
    employer_ids = plan.employer_ids
    for c in plan.cases_by_person[c_lo:c_hi]:
        values = cols.case_values(w, c, cache)
        person = w.cl["person"][c]
        b = (
            bidx[person - lo]
            if not w.cl["ssn_override"][c]
            else crypto.blind_index(values[_SSN], kind="ssn", key=key)
        )
        worker = plan.worker_of_case[c]
        if plan.worker_first_case[worker] == c:
            workers.append(
                "\t".join(
                    (
                        str(plan.worker_ids[worker]),
                        values[_CREATED_AT],
                        plan.now,
                        str(employer_ids[w.cl["employer"][c]]),
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
        cases.append(_case_line(plan, c, values, b, key, ring))
    t_cases = time.perf_counter()
    with transaction.atomic():
        _copy(NUMIDENT_TABLE, COPY_COLUMNS[ReferenceSource.SSA], numident)
        t1 = time.perf_counter()
        _copy(ImmigrationRecord._meta.db_table, COPY_COLUMNS[ReferenceSource.DHS], dhs)
        t2 = time.perf_counter()
        _copy(Worker._meta.db_table, WORKER_COLUMNS, workers)
        t3 = time.perf_counter()
        _copy(CASE_TABLE, CASE_COPY_COLUMNS, cases)
        t4 = time.perf_counter()
    return {
        "numident": (len(numident), t_numident - started, t1 - t_cases),
        "dhs": (len(dhs), t_dhs - t_numident, t2 - t1),
        "workers": (len(workers), 0.0, t3 - t2),
        "cases": (len(cases), t_cases - t_dhs, t4 - t3),
    }


def _run_enforcement(count: int) -> dict[str, tuple[int, float, float]]:
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
        _copy(EnforcementSubject._meta.db_table, COPY_COLUMNS[ReferenceSource.ENFORCEMENT], lines)
    return {"enforcement": (len(lines), built - started, time.perf_counter() - built)}


def _in_child(task: tuple[int, int]) -> dict[str, tuple[int, float, float]]:
    try:
        return _run_chunk(task)
    finally:
        connections.close_all()


def _copy_plain(table: str, columns: list[str], lines: Iterable[str]) -> None:
    _copy(table, columns, list(lines))


BULK_MODELS = (Numident, ImmigrationRecord, Worker, VerificationCase)


def _secondary_indexes(models_: Iterable[Any]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of these tables that back no constraint."""
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [tables],
        )
        return list(cursor.fetchall())


def _foreign_keys(models_: Iterable[Any]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the unique and foreign-key constraints of these tables (unique first)."""
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
            WHERE c.contype IN ('f', 'u') AND c.conrelid::regclass::text = ANY(%s)
            ORDER BY c.contype DESC, c.conname
            """,
            [tables],
        )
        return list(cursor.fetchall())


def _history_tables(models: Any) -> list[str]:
    """The bulk tables that carry the audit's row-history trigger."""
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'audit_row_history' AND c.relname = ANY(%s)",
            [tables],
        )
        return [row[0] for row in cursor.fetchall()]


_UNIQUE = re.compile(r"UNIQUE \(([^()]*)\)")
_ANALYZED = (
    Numident,
    ImmigrationRecord,
    EnforcementSubject,
    Worker,
    VerificationCase,
    Employer,
    HiringSite,
)
_ROWS_KEY = {
    Numident._meta.db_table: "numident",
    ImmigrationRecord._meta.db_table: "dhs",
    EnforcementSubject._meta.db_table: "enforcement",
    Worker._meta.db_table: "workers",
    VerificationCase._meta.db_table: "cases",
}


def _serial(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE"
        )  # inside a transaction: fire pending checks first
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for sql in statements:
            cursor.execute(sql)


def _parallel(indexes: list[tuple[str, str]], chains: dict[str, list[str]], threads: int) -> None:
    """Run the index builds and then each table's chain over `threads` connections.

    Index builds of a table may run at once (CREATE INDEX takes a share lock), but its ANALYZE
    and constraints must wait for them and for one another (they lock the table against each
    other). So a table's chain starts as soon as its last index is built, and the tables with
    the longest chains (listed first) have their indexes built first.
    """
    waiting = {table: sum(1 for t, _ in indexes if t == table) for table in chains}
    todo = list(reversed(indexes))
    ready: list[str] = [t for t in chains if not waiting[t]]
    state = threading.Condition()
    errors: list[BaseException] = []

    def take() -> tuple[str, list[str]] | None:
        with state:
            while not errors:
                if ready:
                    table = ready.pop(0)
                    return "", chains[table]
                if todo:
                    table, sql = todo.pop()
                    return table, [sql]
                if not any(waiting.values()):
                    return None
                state.wait()
            return None

    def drain() -> None:
        try:
            with connection.cursor() as cursor:
                # One core per connection: PostgreSQL's own parallel build would only contend.
                cursor.execute("SET maintenance_work_mem = '512MB'")
                cursor.execute("SET max_parallel_maintenance_workers = 0")
                while (job := take()) is not None:
                    table, statements = job
                    for sql in statements:
                        cursor.execute(sql)
                    if table:
                        with state:
                            waiting[table] -= 1
                            if not waiting[table]:
                                ready.append(table)
                                ready.sort(key=order.index)
                            state.notify_all()
        except BaseException as exc:  # re-raised in the caller's thread
            with state:
                errors.append(exc)
                state.notify_all()
        finally:
            connection.close()

    order = list(chains)
    pool = [threading.Thread(target=drain, name=f"synthetic-rebuild-{k}") for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


def _analyze_sql(model: Any) -> str:
    """ANALYZE of the columns queries filter, sort or join on: not the sealed tokens, unique noise."""
    columns = [f.column for f in model._meta.concrete_fields if not f.column.endswith("_enc")]
    return f'ANALYZE "{model._meta.db_table}" ({", ".join(columns)})'


def _rebuild(
    dropped: list[tuple[str, str]],
    foreign: list[tuple[str, str, str]],
    *,
    rows: dict[str, int],
    threads: int,
    analyze: bool,
) -> None:
    """Build the dropped indexes, then (table by table) statistics, unique and foreign-key constraints.

    In parallel (`threads` > 1) a unique constraint is built as its index first, then attached
    to it, and each table's ANALYZE (with `analyze`) comes before its foreign keys, whose
    validation is planned on it.
    """

    def table_of(definition: str) -> str:
        return definition.split(" ON ", 1)[1].split(" USING ", 1)[0].rsplit(".", 1)[-1].strip('"')

    if threads <= 1:
        _serial(
            [d for _, d in dropped]
            + [f'ALTER TABLE "{t}" ADD CONSTRAINT "{n}" {d}' for t, n, d in foreign]
        )
        return
    indexes = [(table_of(definition), definition) for _name, definition in dropped]
    chains: dict[str, list[str]] = {}
    if analyze:
        for model in _ANALYZED:
            chains[model._meta.db_table] = [_analyze_sql(model)]
    for table, name, definition in foreign:  # unique first
        unique = _UNIQUE.fullmatch(definition)
        if unique:
            indexes.append(
                (table, f'CREATE UNIQUE INDEX "{name}" ON "{table}" ({unique.group(1)})')
            )
            chains.setdefault(table, []).append(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"'
            )
        else:
            chains.setdefault(table, []).append(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            )
    for table, _ in indexes:
        chains.setdefault(table, [])

    def weight(table: str) -> tuple[int, int]:  # the longest chain first: rows times statements
        return (-rows.get(_ROWS_KEY.get(table, ""), 0) * len(chains[table]), 0)

    chains = {t: chains[t] for t in sorted(chains, key=weight)}
    order = list(chains)
    indexes.sort(
        key=lambda item: order.index(item[0])
    )  # stable: the catalogue's order within a table
    _parallel(indexes, chains, threads)


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
    global _PLAN
    started = time.perf_counter()
    summary = LoadSummary()
    from django.utils import timezone

    now = timezone.now().isoformat()
    n_emp = w.n_employers
    employer_ids = allocate_block(Employer, n_emp)
    site_ids = allocate_block(HiringSite, w.n_sites)
    emp_cols = [
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
    emp_lines = []
    site_lines = []
    for e in range(n_emp):
        row = srows.employer_row(w, e)
        emp_lines.append(
            "\t".join(
                (
                    str(int(employer_ids[e])),
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
                        str(int(employer_ids[e])),
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
    _copy_plain(Employer._meta.db_table, emp_cols, emp_lines)
    _copy_plain(
        HiringSite._meta.db_table,
        [
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
        ],
        site_lines,
    )
    summary.rows["employers"], summary.rows["sites"] = n_emp, w.n_sites

    loads = {}
    for source, agency in (
        (ReferenceSource.SSA, "ssa"),
        (ReferenceSource.DHS, "uscis"),
        (ReferenceSource.ENFORCEMENT, "ice-hsi"),
    ):
        loads[source] = ReferenceLoad.objects.create(
            source=source,
            source_agency=agency,
            file_name=f"synthetic-seed-{w.seed}-{source}",
            vintage=w.as_of,
            checksum=f"synthetic:{w.seed}:{w.n_cases}:{w.n_employers}",
            status=LoadStatus.LOADING,
            loaded_by=actor,
            loaded_by_name="" if actor else getpass.getuser(),
        )
    n_people = w.n_people
    dhs_people = np.flatnonzero((w.p["status"] != 0) | w.p["stale"]).astype(np.int64)
    # One worker per (employer, SSN typed).
    typed_ssn = np.where(w.c["ssn_override"] > 0, w.c["ssn_override"], w.p["ssn"][w.c["person"]])
    keys = w.c["employer"].astype(np.int64) * 1_000_000_000 + typed_ssn
    _, first_case, worker_of_case = np.unique(keys, return_index=True, return_inverse=True)
    by_person = np.argsort(w.c["person"], kind="stable")
    plan = _Plan(
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
    sizes = {
        "numident": n_people,
        "dhs": len(dhs_people),
        "enforcement": len(w.s["person"]),
        "workers": len(first_case),
        "cases": w.n_cases,
    }
    _PLAN = plan
    dropped: list[tuple[str, str]] = []
    foreign: list[tuple[str, str, str]] = []
    if rebuild_indexes and not any(m.objects.exists() for m in BULK_MODELS):
        # As pg_restore does: indexes and foreign keys are built once after the data, where
        # upkeep row by row (and a deferred check per row at commit) would cost several times more.
        dropped = _secondary_indexes(BULK_MODELS)
        foreign = _foreign_keys(BULK_MODELS)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, _definition in reversed(foreign):  # foreign keys first
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in dropped:
                cursor.execute(f'DROP INDEX "{name}"')
            # A bulk load is audited per load, not row by row (row history is for writes that
            # bypass services); the trigger comes back in the `finally` below.
            for table in _history_tables(BULK_MODELS):
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER audit_row_history')
    try:
        (
            crypto.blind_index_key(),
            crypto.keyring(),
        )  # read once here, inherited by the forked workers
        step = max(1, min(50_000, math.ceil(n_people / (workers * 4))))
        # The enforcement subjects are one task among the others (first: it starts at once).
        tasks = [(-1, sizes["enforcement"])] + [
            (lo, min(n_people, lo + step)) for lo in range(0, n_people, step)
        ]
        results: Iterable[dict[str, tuple[int, float, float]]]
        if workers > 1:
            connections.close_all()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = list(_report(pool.imap_unordered(_in_child, tasks), progress))
        else:
            results = list(_report(map(_run_chunk, tasks), progress))
        for result in results:
            for name, (n, build, copy) in result.items():
                summary.rows[name] = summary.rows.get(name, 0) + n
                summary.build_seconds[name] = summary.build_seconds.get(name, 0.0) + build
                summary.copy_seconds[name] = summary.copy_seconds.get(name, 0.0) + copy
    finally:
        _PLAN = None
        analyzed = False
        if dropped or foreign:
            index_started = time.perf_counter()
            # Out of a transaction, the indexes, statistics and constraints are built over
            # `workers` connections at once (one core each); inside one (tests), in this one.
            threads = workers if workers > 1 and not connection.in_atomic_block else 1
            analyzed = threads > 1
            _rebuild(dropped, foreign, rows=sizes, threads=threads, analyze=analyzed)
            with connection.cursor() as cursor:
                for table in _history_tables(BULK_MODELS):
                    cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER audit_row_history')
            summary.build_seconds["indexes"] = time.perf_counter() - index_started
    with transaction.atomic():
        for source, load in loads.items():
            table = {
                ReferenceSource.SSA: "numident",
                ReferenceSource.DHS: "dhs",
                ReferenceSource.ENFORCEMENT: "enforcement",
            }[source]
            activate_load(
                load=load,
                rows=sizes[table],
                seconds=time.perf_counter() - started,
                analyze=not analyzed,
            )
    if not analyzed:
        with connection.cursor() as cursor:
            for model in (Worker, VerificationCase, Employer, HiringSite):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    summary.loads = {s: load.pk for s, load in loads.items()}
    summary.seconds = time.perf_counter() - started
    return summary


def _report(
    results: Iterable[dict[str, tuple[int, float, float]]],
    progress: Callable[[str, int], None] | None,
) -> Iterable[dict[str, tuple[int, float, float]]]:
    for result in results:
        if progress:
            progress("cases", result["cases"][0] if "cases" in result else 0)
        yield result


__all__ = ["MODELS", "LoadSummary", "load_world", "write_files"]
