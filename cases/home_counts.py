"""The home pages' case counts, cached per user and invalidated exactly by PostgreSQL's snapshots.

A supervisor's backlog counts every open case of the unit: at a million cases, a scan of a million
index entries per home page. So a home's case counts are kept in the cache, each entry with the
PostgreSQL snapshot it was counted under (`pg_current_snapshot()`, taken just before counting).
An entry is served only while no transaction that the snapshot did not see has since changed
`cases_case`: every writing transaction leaves its id in `cases_change_log` (a statement-level
trigger, migrations 0002), whatever wrote it: a service, a bulk update, the ingest, the admin, a
shell. A count is therefore never older than the last committed change to cases; the check is
one index range scan over the transactions since the entry's snapshot.

Visibility stays per user: the key holds the user, the user's case scope as `visible_to` computes
it (agencies, unit, member and break-glass cases: read afresh on every request, so a grant or a
membership change makes a new key) and the day, and the counts are computed by the selectors that
apply `visible_to`. A transaction that has itself written cases neither reads nor fills the cache
(its counts would hold changes that may yet roll back).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection
from redis.exceptions import RedisError

from cases.access import case_scope

T = TypeVar("T")

# Long enough to outlive a working session's visits; the change log, not the time, makes an
# entry stale. Log rows older than LOG_KEEP_HOURS are pruned (prune_change_log).
CACHE_SECONDS = 30 * 60
LOG_KEEP_HOURS = 6

# The database's identity goes with the snapshot: a database created afresh under the same name
# (a restore, a test run) or a cluster whose transaction ids are behind the snapshot's is not
# the one the counts were taken in.
_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
_SNAPSHOT_SQL = f"""
    SELECT {_DATABASE}::bigint, pg_current_snapshot()::text,
           EXISTS (SELECT 1 FROM cases_change_log WHERE xid = pg_current_xact_id_if_assigned())
"""  # noqa: S608  # nosec B608 # a fixed fragment of ours
_CHANGED_SQL = f"""
    SELECT {_DATABASE} <> %s
        OR pg_snapshot_xmax(%s::pg_snapshot) > pg_snapshot_xmax(pg_current_snapshot())
        OR EXISTS (
            SELECT 1 FROM cases_change_log
             WHERE (xid >= pg_snapshot_xmin(%s::pg_snapshot)
                    AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot))
                OR xid = pg_current_xact_id_if_assigned()
        )
"""  # noqa: S608  # nosec B608 # a fixed fragment of ours


def _key(user: Any, parts: tuple[Any, ...]) -> str:
    scope = case_scope(user, "view")
    raw = repr((user.pk, scope, parts)).encode()
    return f"cases:home-counts:{user.pk}:{hashlib.sha256(raw).hexdigest()}"


def _changed_since(database: int, snapshot: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_CHANGED_SQL, [database, snapshot, snapshot, snapshot])
        return bool(cursor.fetchone()[0])


def cached_counts(*, user: Any, parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()` (counts over cases the user may see), or its cached value if no case has
    changed since it was computed for this user, scope and `parts` (the day, the filters)."""
    key = _key(user, parts)
    try:
        hit = cache.get(key)
    except (RedisError, OSError):  # Redis only makes the page faster: count without it
        return compute()
    if hit is not None and not _changed_since(hit[0], hit[1]):
        return hit[2]
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_SQL)
        database, snapshot, wrote_cases = cursor.fetchone()
    value = compute()
    if not wrote_cases:
        with contextlib.suppress(RedisError, OSError):
            cache.set(key, (database, snapshot, value), CACHE_SECONDS)
    return value


def prune_change_log() -> int:
    """Drop log rows older than every cache entry and every running transaction; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM cases_change_log
             WHERE noted_at < now() - make_interval(hours => %s)
               AND xid < pg_snapshot_xmin(pg_current_snapshot())
            """,
            [LOG_KEEP_HOURS],
        )
        return cursor.rowcount
