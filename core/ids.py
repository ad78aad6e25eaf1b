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


def parse_id(value: Any, *, canonical: bool = False) -> int | None:
    """`value` as an id: a plain decimal within bigint's range, else None.

    `canonical`: only as the id is written back ("7", not "007"), for references kept as text.
    """
    text = str(value)
    if not is_id(text) or (canonical and text != str(int(text))):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def parse_id_list(text: str) -> list[int] | None:
    """Comma-separated ids ("12, 40"), each as `parse_id` reads it; None if any is not one."""
    ids = [parse_id(part) for part in text.replace(" ", "").split(",") if part]
    return None if None in ids else [i for i in ids if i is not None]
