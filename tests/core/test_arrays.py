"""Array literals: what PostgreSQL reads back is exactly the list given, whatever its text."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from core.arrays import date_array, text_array

pytestmark = pytest.mark.django_db

ODD = [
    "",
    "NULL",
    "null",
    "a,b",
    "{x}",
    'say "hi"',
    "back\\slash",
    '\\"',
    " spaced ",
    "tab\there",
    "line\nbreak",
    "ünïcødé Ñ",
    "O'Brien",
    "日本",
]


def _read_back(literal: str, cast: str) -> list:
    with connection.cursor() as cur:
        cur.execute(f"SELECT %s::{cast}", [literal])
        return cur.fetchone()[0]


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["a"],
        ["0123abcdef", "ffff"],
        ODD,
        [None, "x", None, "NULL", ""],
        ['only"quotes"', "plain"],
    ],
)
def test_a_text_array_reads_back_as_the_list_given(values):
    assert _read_back(text_array(values), "text[]") == values


def test_text_arrays_are_bound_not_spliced_into_the_statement():
    hostile = ["x'); DROP TABLE core_marker; --", '"}, {"', "\\"]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM unnest(%s::text[])", [text_array(hostile)])
        assert cur.fetchone()[0] == 3
    assert _read_back(text_array(hostile), "text[]") == hostile


def test_a_date_array_reads_back_as_the_dates_given():
    days = [date(1900, 1, 1), None, date(2024, 2, 29), date(1999, 12, 31)]
    assert _read_back(date_array(days), "date[]") == days
    assert _read_back(date_array([]), "date[]") == []


def test_the_literal_matches_what_psycopg2_would_send_for_a_list():
    with connection.cursor() as cur:
        cur.execute("SELECT %s::text[] = %s::text[]", [text_array(ODD), ODD])
        assert cur.fetchone()[0] is True
