"""Dates of birth as day numbers (days since 1970-01-01), and the keying errors made on them, vectorised.

A date is typed as eight digits (MM/DD/YYYY on the I-9, YYYY-MM-DD in extracts); its errors are
those of typing: one digit wrong, the year off by one or by ten (a neighbouring key, the decade
digit), one component wrong, day and month exchanged, or the year alone (entered as 1 January
where only the year is known). Every function takes and returns int64 arrays of day numbers and
gives a valid date that differs from the one it was given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]
# (year, month, day, rng) -> a new (year, month, day), perhaps invalid: `_retry` draws again.
Draw = Callable[[np.ndarray, np.ndarray, np.ndarray, np.random.Generator], Arrays]

_EPOCH = np.datetime64("1970-01-01", "D")
# "No date" in day arrays (day numbers before 1970 are negative, so not -1).
NO_DAY = -999_999


def split(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) arrays of day numbers."""
    as_dates = _EPOCH + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    years = as_dates.astype("datetime64[Y]")
    months = as_dates.astype("datetime64[M]")
    return (
        years.astype(np.int64) + 1970,
        (months - years.astype("datetime64[M]")).astype(np.int64) + 1,
        (as_dates - months.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def month_length(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days in each (year, month); months outside 1-12 give 0."""
    ok = (month >= 1) & (month <= 12)
    first = (np.clip(year, 1, 9999) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (
        np.clip(month, 1, 12) - 1
    ).astype("timedelta64[M]")
    length = (
        (first + np.timedelta64(1, "M")).astype("datetime64[D]") - first.astype("datetime64[D]")
    ).astype(np.int64)
    return np.where(ok, length, 0)


def valid(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """True where (year, month, day) is a date."""
    return (day >= 1) & (day <= month_length(year, month))


def join(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day numbers of valid (year, month, day) arrays."""
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype(
        "timedelta64[M]"
    )
    return (first.astype("datetime64[D]") - _EPOCH).astype(np.int64) + day - 1


def day_month_swapped(days: np.ndarray) -> np.ndarray:
    """The dates with day and month exchanged where that is another valid date (else the same day)."""
    year, month, day = split(days)
    ok = (day <= 12) & (day != month)
    return np.where(ok, join(year, np.where(ok, day, month), np.where(ok, month, day)), days)


def swappable(days: np.ndarray) -> np.ndarray:
    """True where exchanging day and month gives another date."""
    _year, month, day = split(days)
    return (day <= 12) & (day != month)


def _retry(
    days: np.ndarray, rng: np.random.Generator, draw: Draw, lo_year: int, hi_year: int
) -> np.ndarray:
    """Apply `draw(year, month, day, rng) -> (y, m, d)` until each result is a valid, different date
    in [lo_year, hi_year] that is not the day/month swap; leftovers (rare) move the day by one."""
    days = np.asarray(days, dtype=np.int64)
    out = days.copy()
    todo = np.arange(len(days))
    for _ in range(30):
        if not len(todo):
            return out
        year, month, day = split(days[todo])
        y, m, d = draw(year, month, day, rng)
        good = valid(y, m, d) & (y >= lo_year) & (y <= hi_year)
        new = np.where(
            good, join(np.where(good, y, 1970), np.where(good, m, 1), np.where(good, d, 1)), 0
        )
        good &= (new != days[todo]) & (new != day_month_swapped(days[todo]))
        out[todo[good]] = new[good]
        todo = todo[~good]
    year, month, day = split(days[todo])
    out[todo] = days[todo] + np.where(day < 28, 1, -1)
    return out


def one_digit(
    days: np.ndarray, rng: np.random.Generator, *, lo_year: int, hi_year: int
) -> np.ndarray:
    """One of the six typed digits that vary (the year's last two, the month's, the day's) keyed wrong."""

    def draw(
        year: np.ndarray, month: np.ndarray, day: np.ndarray, g: np.random.Generator
    ) -> Arrays:
        n = len(year)
        # digits: 0 year tens, 1 year units, 2 month tens, 3 month units, 4 day tens, 5 day units
        where = g.integers(0, 6, size=n)
        value = np.select(
            [where == 0, where == 1, where == 2, where == 3, where == 4],
            [year // 10 % 10, year % 10, month // 10, month % 10, day // 10],
            day % 10,
        )
        digit = (value + g.integers(1, 10, size=n)) % 10  # any other digit
        y = np.where(where == 0, year - (year // 10 % 10) * 10 + digit * 10, year)
        y = np.where(where == 1, year - year % 10 + digit, y)
        m = np.where(where == 2, digit * 10 + month % 10, month)
        m = np.where(where == 3, month - month % 10 + digit, m)
        d = np.where(where == 4, digit * 10 + day % 10, day)
        d = np.where(where == 5, day - day % 10 + digit, d)
        return y, m, d

    return _retry(days, rng, draw, lo_year, hi_year)


def year_shift(
    days: np.ndarray, rng: np.random.Generator, *, by: int, lo_year: int, hi_year: int
) -> np.ndarray:
    """The year moved by `by` either way (29 February becomes the 28th where it must)."""

    def draw(
        year: np.ndarray, month: np.ndarray, day: np.ndarray, g: np.random.Generator
    ) -> Arrays:
        y = year + by * np.where(g.random(len(year)) < 0.5, -1, 1)
        return y, month, np.minimum(day, month_length(y, month))

    return _retry(days, rng, draw, lo_year, hi_year)


def one_component(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The month or the day replaced by another value (the year kept)."""

    def draw(
        year: np.ndarray, month: np.ndarray, day: np.ndarray, g: np.random.Generator
    ) -> Arrays:
        n = len(year)
        by_month = g.random(n) < 0.5
        m = np.where(by_month, (month - 1 + g.integers(1, 12, size=n)) % 12 + 1, month)
        d = np.where(by_month, day, (day - 1 + g.integers(1, 28, size=n)) % 28 + 1)
        return year, m, d

    return _retry(days, rng, draw, 1, 9999)


def year_only(days: np.ndarray) -> np.ndarray:
    """1 January of the year (how a record holding only the year of birth stores it)."""
    year, _month, _day = split(days)
    return join(year, np.ones_like(year), np.ones_like(year))
