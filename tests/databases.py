"""Other databases on the test server, for the tests that restore a dump into a new one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from django.conf import settings
from django.db import connection


def db_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    url = urlsplit(settings.DATABASE_URL)
    return urlunsplit((url.scheme, url.netloc, "/" + name, url.query, ""))


def pg(name: str, statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one statement on database `name` (autocommit); its rows if it returns any."""
    conn = psycopg2.connect(db_url(name))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params or [])
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture(name="scratch")
def scratch_databases() -> Iterator[Callable[[str], str]]:
    """Names of new databases beside the test database (`<test db>_<suffix>`), dropped afterwards."""
    names: list[str] = []

    def make(suffix: str) -> str:
        name = f"{connection.settings_dict['NAME']}_{suffix}"
        pg("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        names.append(name)
        return name

    yield make
    for name in names:
        pg("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
