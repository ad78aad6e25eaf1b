"""Fixed INSERT statements for the hot write paths, built once per process from the model.

The ORM's insert compiler costs about as much CPU as the database spends on a one-row insert
(a submit writes several). These helpers write the same row with the same column values,
as `save(force_insert=True)` / `bulk_create` would (`pre_save` and `get_db_prep_save` of every
field: auto_now times, foreign keys, arrays and JSON), from SQL built once per model. No model
signals are connected to the models they serve; audit/services.py does the same for its events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import fields as model_fields
from django.db.models.fields.related import ForeignKey

_SQL: dict[tuple[Any, ...], tuple[list[Any], str]] = {}

# Fields whose `get_db_prep_save(pre_save(obj))` is the attribute itself when it already has
# this exact type (or is None): PostgreSQL's adapters take str, bool, int, float and date as they
# are. Checked by exact class, so a subclass with its own conversion takes the full path.
_PLAIN_TYPES: dict[type, type] = {
    model_fields.CharField: str,
    model_fields.TextField: str,
    model_fields.EmailField: str,
    model_fields.BooleanField: bool,
    model_fields.IntegerField: int,
    model_fields.BigIntegerField: int,
    model_fields.SmallIntegerField: int,
    model_fields.PositiveIntegerField: int,
    model_fields.PositiveSmallIntegerField: int,
    model_fields.FloatField: float,
    model_fields.DateField: date,
}
# One (field, plain type or None) plan per field list of _SQL, built on first use.
_PLANS: dict[int, tuple[list[Any], list[tuple[Any, type | None]]]] = {}


def _quote(name: str) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)


def _statement(model: Any, *, with_pk: bool, suffix: str, rows: int = 1) -> tuple[list[Any], str]:
    key = (model, with_pk, suffix, rows)
    built = _SQL.get(key)
    if built is None:
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        columns = ", ".join(_quote(f.column) for f in fields)
        row = f"({', '.join(['%s'] * len(fields))})"
        sql = (
            f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) "  # noqa: S608  # nosec B608 # table and column names are the model's own; values are bound parameters
            f"VALUES {', '.join([row] * rows)} {suffix}"
        )
        built = _SQL[key] = (fields, sql)
    return built


def _plain_type(field: Any) -> type | None:
    """The one type whose values this field writes unchanged, if it has one."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    if type(field) is ForeignKey:
        target = field.target_field
        return int if isinstance(target, model_fields.IntegerField) else None
    return _PLAIN_TYPES.get(type(field))


def _plan(fields: list[Any]) -> list[tuple[Any, type | None]]:
    planned = _PLANS.get(id(fields))
    if planned is None or planned[0] is not fields:
        planned = _PLANS[id(fields)] = (fields, [(f, _plain_type(f)) for f in fields])
    return planned[1]


def prepared_values(fields: list[Any], obj: Any, conn: Any) -> list[Any]:
    """Each field's `get_db_prep_save(pre_save(obj, add=True))`, skipped where it is the value."""
    out = []
    for field, plain in _plan(fields):
        if plain is not None:
            value = getattr(obj, field.attname)
            if value is None or type(value) is plain:
                out.append(value)
                continue
        out.append(field.get_db_prep_save(field.pre_save(obj, True), conn))
    return out


def _saved(obj: Any, pk: Any, alias: str) -> None:
    if pk is not None:
        obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias


def insert_one(obj: Any, *, suffix: str = "", returning_pk: bool = True) -> Any:
    """Insert one model instance (its pk too if set; else the database gives one, returned).

    `suffix` goes after VALUES (an ON CONFLICT clause, fixed per call site); with it and
    `returning_pk`, the statement ends with RETURNING the pk (an upsert's existing row).
    """
    conn = connections[DEFAULT_DB_ALIAS]
    with_pk = obj.pk is not None
    pk_column = _quote(obj._meta.pk.column)
    tail = f"{suffix} RETURNING {pk_column}" if returning_pk else suffix
    fields, sql = _statement(type(obj), with_pk=with_pk, suffix=tail)
    with conn.cursor() as cursor:
        cursor.execute(sql, prepared_values(fields, obj, conn))
        row = cursor.fetchone() if returning_pk else None
    _saved(obj, row[0] if row else None, conn.alias)
    return obj.pk


def insert_one_from(obj: Any, *, source: str, suffix: str) -> tuple[str, list[Any]]:
    """The INSERT of one new instance (no pk set) as `INSERT ... SELECT <its values> FROM source`,
    RETURNING its pk, and the values: one row per row of `source` (a CTE of the caller's
    statement), so none if it has none. `inserted(obj, pk)` marks it saved afterwards."""
    conn = connections[DEFAULT_DB_ALIAS]
    model = type(obj)
    key = (model, "from", source, suffix)
    built = _SQL.get(key)
    if built is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(_quote(f.column) for f in fields)
        sql = (
            f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) "  # noqa: S608  # nosec B608 # table and column names are the model's own; values are bound parameters
            f"SELECT {', '.join(['%s'] * len(fields))} FROM {source} {suffix} "
            f"RETURNING {_quote(model._meta.pk.column)}"
        )
        built = _SQL[key] = (fields, sql)
    fields, sql = built
    return sql, prepared_values(fields, obj, conn)


def inserted(obj: Any, pk: Any) -> None:
    """Mark an instance written by `insert_one_from`'s statement as saved, with its pk."""
    _saved(obj, pk, connections[DEFAULT_DB_ALIAS].alias)


def insert_many(objs: Sequence[Any]) -> None:
    """Insert several new instances of one model (no pk set) in one statement; their pks are set."""
    if not objs:
        return
    model = type(objs[0])
    conn = connections[DEFAULT_DB_ALIAS]
    fields, sql = _statement(
        model,
        with_pk=False,
        suffix=f"RETURNING {_quote(model._meta.pk.column)}",
        rows=len(objs),
    )
    values = [v for obj in objs for v in prepared_values(fields, obj, conn)]
    with conn.cursor() as cursor:
        cursor.execute(sql, values)
        pks = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        _saved(obj, pk, conn.alias)


def insert_with_many(
    first: Any, objs: Sequence[Any], *, also: tuple[str, list[Any]] | None = None
) -> Any:
    """Insert `first` (its pk set) and several new rows that refer to it, in one statement.

    `WITH first_row AS (INSERT ...), many_rows AS (INSERT ... RETURNING id) SELECT ...`: one round
    trip instead of two. The rows' foreign key to `first` is checked at commit (Django's are
    deferred), when both exist.
    `also` is one more INSERT ... RETURNING id (SQL, parameters) sent in the same statement, as a
    caller would have sent it right after; its id is returned (else None).
    """
    if not objs and also is None:
        insert_one(first, returning_pk=False)
        return None
    conn = connections[DEFAULT_DB_ALIAS]
    first_fields, first_sql = _statement(type(first), with_pk=True, suffix="")
    values = prepared_values(first_fields, first, conn)
    ctes, selects = [f"first_row AS ({first_sql})"], []
    if objs:
        model = type(objs[0])
        fields, sql = _statement(
            model,
            with_pk=False,
            suffix=f"RETURNING {_quote(model._meta.pk.column)}",
            rows=len(objs),
        )
        ctes.append(f"many_rows AS ({sql})")
        values += [v for obj in objs for v in prepared_values(fields, obj, conn)]
        selects.append("SELECT *, false FROM many_rows")
    if also is not None:
        ctes.append(f"also_row AS ({also[0]})")
        values += also[1]
        selects.append("SELECT *, true FROM also_row")
    with conn.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}", values)
        returned = cursor.fetchall()
    _saved(first, None, conn.alias)
    pks = [pk for pk, is_also in returned if not is_also]
    for obj, pk in zip(objs, pks, strict=True):
        _saved(obj, pk, conn.alias)
    return next((pk for pk, is_also in returned if is_also), None)
