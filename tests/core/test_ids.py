"""`core.ids`: an id from outside is a plain ASCII decimal within bigint, or none at all."""

from __future__ import annotations

import pytest

from core.ids import MAX_ID, is_id, parse_id, parse_id_list


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


def test_canonical_ids_are_written_as_read_back():
    assert parse_id("007") == 7
    assert parse_id("007", canonical=True) is None
    assert parse_id("7", canonical=True) == 7


def test_a_list_of_ids_is_all_ids_or_none():
    assert parse_id_list("12, 40,,7") == [12, 40, 7]
    assert parse_id_list("") == []
    assert parse_id_list("12,\u00b2") is None
    assert parse_id_list(f"1,{MAX_ID + 1}") is None
