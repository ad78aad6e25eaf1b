"""Ids read from URLs, query strings, forms and stored references: plain decimals only.

`str.isdigit` is no guard before `int`: "²" and "١٢" are digits to Python, and `int("²")` raises
(a 500 where a URL named one). Every id that comes from outside goes through `parse_id`.
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def is_id(text: str) -> bool:
    """Whether `text` is written as an id: ASCII digits only, at least one."""
    return text.isascii() and text.isdigit()


def parse_id(value: Any) -> int | None:
    """`value` as an id: a plain decimal within bigint's range, else None."""
    text = str(value)
    if not is_id(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
