"""Bulk loads into empty tables, as pg_restore does them: indexes and constraints built once, after.

Row-by-row index upkeep (and a deferred foreign-key check per row at commit) costs several times
what one build over the filled table does. So `drop` takes the secondary indexes, the unique and
foreign-key constraints and the row-history trigger off the bulk tables, and `restore` puts them
back: over several connections at once when it may (one core each), each table's statistics
before its foreign keys, whose validation is planned on them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from verification.models import (
    Employer,
    EnforcementSubject,
    HiringSite,
    ImmigrationRecord,
    Numident,
    VerificationCase,
    Worker,
)

BULK_MODELS = (Numident, ImmigrationRecord, Worker, VerificationCase)


@dataclass
class Dropped:
    """What `drop` took off the bulk tables, for `restore` to put back."""

    indexes: list[tuple[str, str]]  # (name, definition)
    constraints: list[tuple[str, str, str]]  # (table, name, definition), unique first


def empty(models: Iterable[Any] = BULK_MODELS) -> bool:
    """True when none of the bulk tables holds a row yet (a fresh database)."""
    return not any(m.objects.exists() for m in models)


def drop(models: tuple[Any, ...] = BULK_MODELS) -> Dropped:
    """Take the secondary indexes, unique and foreign-key constraints and row history off `models`."""
    dropped = Dropped(_secondary_indexes(models), _foreign_keys(models))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, name, _definition in reversed(dropped.constraints):  # foreign keys first
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _definition in dropped.indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # A bulk load is audited per load, not row by row (row history is for writes that
        # bypass services); `restore` turns the trigger back on.
        for table in _history_tables(models):
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER audit_row_history')
    return dropped


def restore(
    dropped: Dropped, *, rows: dict[str, int], workers: int, models: tuple[Any, ...] = BULK_MODELS
) -> bool:
    """Build what `drop` took off and turn row history back on; True if the tables were analyzed too.

    Out of a transaction, the indexes, statistics and constraints are built over `workers`
    connections at once (one core each); inside one (tests), in this one, without ANALYZE.
    """
    threads = workers if workers > 1 and not connection.in_atomic_block else 1
    analyzed = threads > 1
    _rebuild(dropped.indexes, dropped.constraints, rows=rows, threads=threads, analyze=analyzed)
    with connection.cursor() as cursor:
        for table in _history_tables(models):
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER audit_row_history')
    return analyzed


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
