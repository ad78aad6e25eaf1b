"""`core.ids`: an id from outside is a plain ASCII decimal within bigint, or none at all."""

from __future__ import annotations

import pytest

from core.ids import MAX_ID, is_id, parse_id


def test_plain_decimals_are_ids():
    assert parse_id("42") == 42
    assert parse_id(42) == 42
    assert parse_id("0") == 0
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert is_id("007")


@pytest.mark.parametrize(
    "value",
    ["²", "١٢", "\uff14\uff12", "-1", "+1", " 1", "1 ", "1.0", "1e3", "", "0x10", str(MAX_ID + 1)],
)
def test_what_python_calls_digits_or_numbers_is_not_an_id(value):
    """ "²".isdigit() is True and int("²") raises; full-width and Arabic-Indic digits convert."""
    assert parse_id(value) is None
