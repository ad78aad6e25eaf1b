"""Where the engine reads: the verification app's tables, and which reference loads are current."""

from __future__ import annotations

from typing import Any

from django.db import connection

CASES = "verification_verificationcase"
EMPLOYERS = "verification_employer"
NUMIDENT = "verification_numident"
DHS = "verification_immigrationrecord"
ENFORCEMENT = "verification_enforcementsubject"
LOADS = "verification_referenceload"
# The column name bound into the associated data of a case's SSN token (privacy.crypto).
CASE_SSN_COLUMN = "ssn_enc"


def current_load_ids() -> list[int]:
    """Ids of the current load of each reference source (recorded on the run, and on each finding)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM {LOADS} WHERE status = 'current' ORDER BY source")  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        return [row[0] for row in cur.fetchall()]


def current_loads() -> dict[str, int]:
    """source -> id of its current load, in one query (the instant result needs both at once)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT source, id FROM {LOADS} WHERE status = 'current'")  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        return dict(cur.fetchall())


def loads_by_source(load_ids: list[int]) -> dict[str, int]:
    """source -> load id, for the loads a run recorded at its start."""
    if not load_ids:
        return {}
    with connection.cursor() as cur:
        cur.execute(f"SELECT source, id FROM {LOADS} WHERE id = ANY(%s)", [list(load_ids)])  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        return dict(cur.fetchall())


def cases_in_scope(scope: dict[str, Any]) -> int:
    """How many submitted cases a run's scope covers (the basis of its ETA)."""
    sql = f"SELECT count(*) FROM {CASES} c WHERE c.submitted_at IS NOT NULL"  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
    params: dict[str, Any] = {}
    if scope.get("date_from"):
        sql += " AND c.created_at >= %(f)s"
        params["f"] = scope["date_from"]
    if scope.get("date_to"):
        sql += " AND c.created_at < (%(t)s::date + 1)"
        params["t"] = scope["date_to"]
    if scope.get("employer_ids"):
        sql += " AND c.employer_id = ANY(%(e)s)"
        params["e"] = list(scope["employer_ids"])
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return int(cur.fetchone()[0])
