"""The one federal working-day calendar (DESIGN.md, Time): weekends and US federal holidays off."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    # The eleven US federal holidays, with the observed Friday/Monday when one falls on a weekend.
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def is_working_day(day: date) -> bool:
    """True on a weekday that is not a US federal holiday (observed)."""
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


@lru_cache(maxsize=4096)  # a pure function; a bulk import asks it for every row's hire date
def add_working_days(start: date, days: int) -> date:
    """The date `days` federal working days after `start` (before it when negative)."""
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    current = start
    while remaining:
        current += timedelta(days=step)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Federal working days after `start` up to and including `end` (negative when end < start)."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
