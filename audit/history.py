"""Row history: writes that bypass services (admin, shell, bulk updates) are still caught.

Services record intent-level audit events (STYLE.md rule 10); this is the safety net under them.
One PostgreSQL trigger function (`audit_row_history`, migration 0002) writes every INSERT, UPDATE
and DELETE of an opted-in table to `audit_row_change`, itself append-only, with the old and new
row as JSON minus the excluded columns, the database user, and the application user and request
id of the Django connection that made the write.

Opting a model in, from the owning app's `AppConfig.ready` (no change to its models or
migrations; the trigger is (re)installed after every `migrate`):

    from audit.history import track
    track("cases.Case", exclude=["search_vector"])

* Identifier columns are never written. Columns whose names mark an identifier, its ciphertext
  or its blind index (`audit.services.is_identifier_name`: ssn, a_number, i94, passport,
  document_number, blind_index, ciphertext, ... and settings.AUDIT_IDENTIFIER_FIELDS) are left
  out automatically, as are `password`, `date_of_birth` and settings.AUDIT_ROW_HISTORY_EXCLUDE; pass any other
  in `exclude`.
* Leave bulk-loaded tables out (reference records, findings): their loads are audited per load.
* A service that inserts many rows of a tracked table at once and records, in the same
  transaction, one audit event naming every row it inserted (the bulk case import) wraps those
  inserts in `bulk_insert()`: they write no history row each. An INSERT's history is the new row,
  which the table holds until its first UPDATE (whose history keeps it as `old`); UPDATE and
  DELETE are recorded as always.
* Models can also be opted in without code, by label, in settings.AUDIT_ROW_HISTORY.

Why not django-pghistory: it wants an event model per tracked model declared in (or importing)
the tracked model's app, so audit would import privacy and the others, against the app order of
DESIGN.md, or every app would carry history models and migrations of its own. One generic trigger
into one append-only table keeps the dependency pointing down and the opt-in to a single line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection

from audit import context
from audit.services import is_identifier_name

log = logging.getLogger(__name__)

ACTOR_GUC = "crosscheck.actor_id"
REQUEST_GUC = "crosscheck.request_id"
# Never copied into the trail, which outlives the rows it records: a password hash, and a date of
# birth (in clear in its own table for matching, behind access control; with a name, the key to
# an identity).
ALWAYS_EXCLUDED = frozenset({"password", "date_of_birth"})

# label ("app_label.ModelName") -> extra excluded column names
TRACKED: dict[str, set[str]] = {}


def track(label: str, *, exclude: list[str] | tuple[str, ...] = ()) -> None:
    """Keep row history of the model `label` ("app_label.ModelName"), without `exclude` columns."""
    TRACKED.setdefault(label, set()).update(exclude)


def track_defaults() -> None:
    """Whatever settings.AUDIT_ROW_HISTORY names (each app opts its own models in with `track`)."""
    for label in getattr(settings, "AUDIT_ROW_HISTORY", []):
        track(label)


def _excluded_columns(model: Any, extra: set[str]) -> list[str]:
    configured = {c.lower() for c in getattr(settings, "AUDIT_ROW_HISTORY_EXCLUDE", [])}
    names = set()
    for f in model._meta.concrete_fields:
        column = f.column
        if (
            is_identifier_name(f.name)
            or is_identifier_name(column)
            or f.name in ALWAYS_EXCLUDED
            or f.name in extra
            or column in extra
            or column.lower() in configured
        ):
            names.add(column)
    return sorted(names)


def install(sender: Any = None, using: str = "default", **kwargs: Any) -> list[str]:
    """(Re)create the history trigger on every tracked table (run after `migrate`)."""
    if sender is not None and getattr(sender, "label", "") != "audit":
        return []
    done = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('audit_row_history()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []
        for label, extra in sorted(TRACKED.items()):
            try:
                model = apps.get_model(label)
            except LookupError:
                log.warning("audit row history: no model %s", label)
                continue
            table = model._meta.db_table
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [connection.ops.quote_name(table)])
            if not cursor.fetchone()[0]:
                continue
            args = [model._meta.pk.column, *_excluded_columns(model, extra)]
            literal = ", ".join("'" + a.replace("'", "''") + "'" for a in args)
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER audit_row_history AFTER INSERT OR UPDATE OR DELETE ON "
                f"{connection.ops.quote_name(table)} FOR EACH ROW EXECUTE FUNCTION audit_row_history({literal})"
            )
            done.append(table)
    return done


def context_wrapper(execute: Any, sql: str, params: Any, many: bool, ctx: dict[str, Any]) -> Any:
    """Before a write, tell the database who is writing (read by the row-history trigger).

    Sent only when the actor or request changed since the last write on this connection, and in
    the same round trip as the write when it can be (a single statement with bound parameters):
    `SELECT set_config(...); <the write>`, whose result is the write's. The settings take effect
    before the write, in its transaction, exactly as a separate statement would.
    """
    head = sql.lstrip()[:6].upper() if isinstance(sql, str) else ""
    if head in ("INSERT", "UPDATE", "DELETE") or (head[:4] == "WITH" and _WRITES.search(sql)):
        current = context.current()
        actor = getattr(current.user, "pk", None)
        marker = (actor, current.request_id or current.run_id)
        conn = ctx["connection"]
        if getattr(conn, "_audit_history_marker", None) != marker:
            values = ["" if actor is None else str(actor), marker[1] or ""]
            if not many and isinstance(params, list | tuple):
                result = execute(
                    _SET_CONTEXT_POSITIONAL + sql,
                    [ACTOR_GUC, values[0], REQUEST_GUC, values[1], *params],
                    many,
                    ctx,
                )
                conn._audit_history_marker = marker
                return result
            if not many and isinstance(params, dict) and not set(params) & set(_NAMED):
                named = dict(
                    zip(_NAMED, (ACTOR_GUC, values[0], REQUEST_GUC, values[1]), strict=True)
                )
                result = execute(_SET_CONTEXT_NAMED + sql, {**named, **params}, many, ctx)
                conn._audit_history_marker = marker
                return result
            raw = ctx["cursor"].cursor
            raw.execute(
                _SET_CONTEXT_POSITIONAL.rstrip("; "), [ACTOR_GUC, values[0], REQUEST_GUC, values[1]]
            )
            conn._audit_history_marker = marker
    return execute(sql, params, many, ctx)


# A statement led by WITH writes if one of its parts does (`WITH x AS (INSERT ...) ...`).
_WRITES = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\b", re.IGNORECASE)
_SET_CONTEXT_POSITIONAL = "SELECT set_config(%s, %s, false), set_config(%s, %s, false); "
_NAMED = ("audit_guc_actor", "audit_actor", "audit_guc_request", "audit_request")
_SET_CONTEXT_NAMED = (
    "SELECT set_config(%(audit_guc_actor)s, %(audit_actor)s, false), "
    "set_config(%(audit_guc_request)s, %(audit_request)s, false); "
)


def connection_prepare(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Add the writer-context wrapper to every new connection."""
    if connection.vendor == "postgresql" and context_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(context_wrapper)


class bulk_insert:  # noqa: N801 - used as a function-like context manager
    """Inside a transaction: the INSERTs of this block write no row history (their service's audit
    event, in the same transaction, names every row). Closed again on exit, so the rest of the
    caller's transaction is recorded as before; UPDATE and DELETE are recorded even inside.

        with bulk_insert():
            copy_rows(CASE_TABLE, columns, lines)
        event_record(..., subjects=[f"vcase:{i}" for i in ids])
    """

    def __enter__(self) -> bulk_insert:
        if not connection.in_atomic_block:
            raise RuntimeError("bulk_insert must run inside the audited transaction")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('crosscheck.bulk_insert', 'on', true)")
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            return  # the transaction rolls back, and the flag with it
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('crosscheck.bulk_insert', '', true)")


class retention_purge:  # noqa: N801 - used as a function-like context manager
    """Inside a retention purge's transaction: the history of the purged rows goes with them.

        with retention_purge() as purge:
            purge.history(table="verification_verificationcase", row_pks=[...])
            VerificationCase.objects.filter(pk__in=ids).delete()   # writes no history

    Opens a transaction-local permission that only this block holds: history rows of the named
    records may be deleted, and deletes write none. It is closed again on exit, so the rest of
    the caller's transaction is append-only as before. The purge is audited per batch by its caller.
    """

    def __enter__(self) -> retention_purge:
        if not connection.in_atomic_block:
            raise RuntimeError("retention_purge must run inside the purge's transaction")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('crosscheck.retention_purge', 'on', true)")
        return self

    def history(self, *, table: str, row_pks: list[str]) -> int:
        """Delete the row history of these records of `table`."""
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM audit_row_change WHERE table_name = %s AND row_pk = ANY(%s)",
                [table, row_pks],
            )
            return int(cursor.rowcount)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            return  # the transaction rolls back, and the permission with it
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('crosscheck.retention_purge', '', true)")
