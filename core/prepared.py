"""Server-side prepared statements for the few hot read queries whose planning costs more than
running them (the submit's duplicate look-up: about 0.35 ms to plan, 0.1 ms to run).

Each statement is prepared once per database session, by the first call that needs it, in the
same round trip as its first `EXECUTE`; later calls send only `EXECUTE name(values)`. A prepared
statement outlives a rolled-back transaction, so a first call that failed leaves one behind whose
state is unknown: the next call prepares the statement again under a new name.

`CompiledQuery` is the client side of the same saving: an ORM query of a few values compiled
to SQL once per process (compiling it cost more than running it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.db import connections, router

_PLACEHOLDER = re.compile(r"%(%|s)")
# name -> (the statement with $n for the values that vary, literals for the others; which
# parameters are the $n, in order).
_BODIES: dict[str, tuple[str, list[int]]] = {}


def _body(
    cursor: Any, name: str, sql: str, params: Sequence[Any], variable: Collection[int]
) -> tuple[str, list[int]]:
    built = _BODIES.get(name)
    if built is None:
        parts: list[str] = []
        order: list[int] = []
        slot = iter(range(len(params)))
        last = 0
        for match in _PLACEHOLDER.finditer(sql):
            parts.append(sql[last : match.start()])
            last = match.end()
            if match.group(1) == "%":
                parts.append("%%")
                continue
            i = next(slot)
            if i in variable:
                order.append(i)
                parts.append(f"${len(order)}")
            else:  # a constant of the query, kept a literal so the plan can use it
                literal = cursor.mogrify("%s", [params[i]]).decode()
                parts.append(literal.replace("%", "%%"))
        parts.append(sql[last:])
        built = _BODIES[name] = ("".join(parts), order)
    return built


def execute_prepared(
    cursor: Any, *, name: str, sql: str, params: Sequence[Any], variable: Collection[int]
) -> None:
    """`cursor.execute(sql, params)` through a prepared statement `name` (fixed per `sql`): the
    parameters at the indexes in `variable` are its values, the others are the same every call."""
    conn = cursor.db
    raw = conn.connection
    state: tuple[Any, dict[str, tuple[int, bool]]] | None
    state = getattr(conn, "_prepared_statements", None)
    if state is None or state[0] is not raw:  # a new session: nothing is prepared there yet
        state = (raw, {})
        conn._prepared_statements = state
    body, order = _body(cursor.cursor, name, sql, params, variable)
    generation, ready = state[1].get(name, (0, False))
    prepared = f"{name}_{generation}"
    values = [params[i] for i in order]
    execute = f"EXECUTE {prepared}({', '.join(['%s'] * len(values))})"
    if ready:
        cursor.execute(execute, values)
        return
    state[1][name] = (generation + 1, False)  # until it is known to have worked
    cursor.execute(f"PREPARE {prepared} AS {body}; {execute}", values)
    state[1][name] = (generation, True)


class CompiledQuery:
    """An ORM query of a few values, compiled once per process and then run as plain SQL.

    The SQL and the other parameters are exactly what the ORM writes for the query (compiled
    with placeholder values that are then swapped per call); compiling it costs more CPU than
    the database spends answering it on the submit path. `build` takes one argument per
    placeholder; a placeholder must reach the parameters unchanged (a string for a text
    column, a date no query names for a date column).
    """

    PLACEHOLDER = "\x00prepared"

    def __init__(
        self,
        model: Any,
        build: Callable[..., Any],
        fields: tuple[str, ...],
        placeholders: tuple[Any, ...] = (PLACEHOLDER,),
    ):
        self.model, self.build, self.placeholders = model, build, placeholders
        wanted = {model._meta.get_field(name).attname for name in fields}
        # The ORM selects a deferred query's columns in the model's field order.
        self.attnames = [f.attname for f in model._meta.concrete_fields if f.attname in wanted]
        self.sql: str | None = None
        self.params: list[Any] = []
        self.slots: list[int] = []

    def template(self) -> tuple[str, list[Any], int]:
        """The query's SQL, its parameters, and the index of the one that takes the (first) value."""
        if self.sql is None:
            sql, params = self.build(*self.placeholders)[:1].query.sql_with_params()
            params = list(params)
            slots = [params.index(p) for p in self.placeholders]
            if any(params.count(p) != 1 for p in self.placeholders):
                raise ValueError("each placeholder must be one parameter of the query")
            self.params, self.slots, self.sql = params, slots, sql
        return self.sql, self.params, self.slots[0]

    def instance(self, row: tuple[Any, ...] | None) -> Any:
        """A model instance from one row of the query's columns (None if there was no row)."""
        if row is None:
            return None
        return self.model.from_db(router.db_for_read(self.model), self.attnames, row)

    def first(self, *values: Any) -> Any:
        """The query's first row for `values` (one per placeholder) as a model instance, or None."""
        sql, params, _ = self.template()
        params = list(params)
        for slot, value in zip(self.slots, values, strict=True):
            params[slot] = value
        with connections[router.db_for_read(self.model)].cursor() as cursor:
            cursor.execute(sql, params)
            return self.instance(cursor.fetchone())
