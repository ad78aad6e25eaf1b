"""Helpers the rules share: fetching rows as dicts, field comparisons, working-day calendar SQL."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from django.utils import timezone
from psycopg2.extras import execute_values

from core import calendar
from crossref import sources
from verification.comparison import dob_level


def fetch_dicts(
    cur: Any, sql: str, params: dict[str, Any] | list[Any] | None = None
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts."""
    cur.execute(sql, params or {})
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def field(
    name: str, source: str, submitted: Any, reference: Any, score: float | None
) -> dict[str, Any]:
    """One per-field comparison, as findings hold it (dates as ISO strings)."""

    def show(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v

    return {
        "field": name,
        "source": source,
        "submitted": show(submitted),
        "reference": show(reference),
        "score": None if score is None else round(float(score), 3),
    }


def loads(ctx: Any) -> dict[str, int]:
    """source -> current load id recorded on the run."""
    by_source: dict[str, int] = ctx.once(
        "loads", lambda: sources.loads_by_source(ctx.run.reference_loads or [])
    )
    return by_source


# Keying slips of a date of birth that, with the names agreeing, make a clerical error rather than
# a mismatch (the levels of verification.comparison's scale): the finding's evidence kind.
DOB_SLIPS = {1: "dob_day_month_swap", 2: "dob_one_digit"}


def dob_slip(a: date | None, b: date | None) -> str:
    """The kind of keying slip that turns date `a` into `b` (day and month swapped, one digit of
    YYYYMMDD), or '' for none (equal dates, a missing one, or a real difference)."""
    return DOB_SLIPS.get(dob_level(a, b), "")


def dob_swapped(a: date | None, b: date | None) -> bool:
    """True when b is a with day and month exchanged (and they differ)."""
    if a is None or b is None or a == b or a.day > 12:
        return False
    try:
        return a.replace(month=a.day, day=a.month) == b
    except ValueError:
        return False


@lru_cache(maxsize=4)
def _calendar_rows(start: date, end: date) -> list[tuple[date, int]]:
    rows, n, d = [], 0, start
    while d <= end:
        if calendar.is_working_day(d):
            n += 1
        rows.append((d, n))
        d += timedelta(days=1)
    return rows


def working_day_table(ctx: Any) -> str:
    """A temporary table (d, wd) numbering federal working days, for set-based deadline SQL."""

    def build() -> str:
        today = timezone.localdate()
        rows = _calendar_rows(date(today.year - 12, 1, 1), date(today.year + 2, 12, 31))
        ctx.cursor.execute("DROP TABLE IF EXISTS xr_cal")
        ctx.cursor.execute(
            "CREATE TEMP TABLE xr_cal (d date PRIMARY KEY, wd int NOT NULL) ON COMMIT DROP"
        )
        execute_values(ctx.cursor, "INSERT INTO xr_cal (d, wd) VALUES %s", rows, page_size=10000)
        ctx.cursor.execute("ANALYZE xr_cal")
        return "xr_cal"

    table: str = ctx.once("calendar", build)
    return table
