"""Database plumbing of the audit trail: the test runner's narrow way through, and SQL helpers.

The append-only guard (migration 0001) refuses UPDATE, DELETE and TRUNCATE on the audit tables.
Django's test runner empties the database between transactional tests with TRUNCATE, so it needs
one narrow way through, and only for TRUNCATE:

* the database's name must start with ``test_``. Django names its test databases so; the
  production database (``crosscheck``) never matches, whatever a session sets; and
* the session must have set ``crosscheck.audit_test_flush = 'on'``. `connection_prepare` sets it
  on each new connection only when ``settings.AUDIT_TEST_FLUSH_ALLOWED`` is true, which only
  ``config/settings/test.py`` does.

Both conditions are checked inside PostgreSQL by ``audit_test_flush_permitted()``;
tests/audit/test_append_only.py proves that the application's own path (any settings module but
the test one, or any database not named ``test_*``) is refused.

In a deployment the application's role should also hold only INSERT and SELECT on the audit
tables (``manage.py audit_restrict_role``), so the guard is the second line, not the first.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

FLUSH_GUC = "crosscheck.audit_test_flush"


def flush_allowed_for(settings_dict: dict[str, Any]) -> bool:
    """True when this connection may use the test flush: the test settings and a test database."""
    return bool(getattr(settings, "AUDIT_TEST_FLUSH_ALLOWED", False)) and str(
        settings_dict.get("NAME") or ""
    ).startswith("test_")


def connection_prepare(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On a new connection, open the test flush's way through when (and only when) allowed."""
    if connection.vendor != "postgresql" or not flush_allowed_for(connection.settings_dict):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', false)", [FLUSH_GUC])


def partitions_ensure(months_ahead: int | None = None) -> int:
    """Create this month's partitions and the next few (idempotent)."""
    ahead = settings.AUDIT_PARTITIONS_AHEAD if months_ahead is None else months_ahead
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_partitions_ensure(%s)", [ahead])
        return int(cursor.fetchone()[0])


def partitions() -> list[tuple[str, str]]:
    """(partition name, bounds) of the audit event table, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'audit_event'::regclass ORDER BY c.relname
            """
        )
        return [(name, bound) for name, bound in cursor.fetchall()]
