from datetime import date

from core.calendar import add_working_days, is_working_day, working_days_between


def test_weekends_and_federal_holidays_are_not_working_days():
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 11, 26))  # Thanksgiving
    assert not is_working_day(date(2026, 7, 3))  # Independence Day observed (July 4 is a Saturday)
    assert is_working_day(date(2026, 11, 27))


def test_it_counts_working_days_across_a_holiday_and_a_weekend():
    # Wed 2026-11-25 + 3 working days: Fri 27, Mon 30, Tue Dec 1 (Thanksgiving and weekend skipped).
    assert add_working_days(date(2026, 11, 25), 3) == date(2026, 12, 1)
    assert working_days_between(date(2026, 11, 25), date(2026, 12, 1)) == 3
    assert add_working_days(date(2026, 12, 1), -3) == date(2026, 11, 25)
