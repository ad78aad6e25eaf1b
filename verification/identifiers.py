"""Sealing identifiers into model rows, and opening them: token + blind index + last four.

A row must have its primary key before its identifiers are sealed, because the key is part of
the associated data (`allocate_ids` takes it from the table's sequence).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models

from privacy import crypto

# Model field prefix -> blind-index kind. The same kind in every table, so indexes join.
KINDS: dict[str, str] = {
    "ssn": "ssn",
    "a_number": "a_number",
    "i94": "i94",
    "passport": "passport",
    "document_number": "document",
}


def allocate_ids(model: type[models.Model], count: int = 1) -> list[int]:
    """Take `count` ids from the model's id sequence, so rows can be sealed before insert."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def seal(instance: models.Model, prefix: str, value: str) -> None:
    """Set `<prefix>_enc`, `<prefix>_bidx` and `<prefix>_last4` of a row (empty value: all empty)."""
    if not value:
        setattr(instance, f"{prefix}_enc", "")
        setattr(instance, f"{prefix}_bidx", "")
        setattr(instance, f"{prefix}_last4", "")
        return
    assert instance.pk is not None, "allocate the id before sealing"
    setattr(
        instance,
        f"{prefix}_enc",
        crypto.encrypt(
            value, table=instance._meta.db_table, column=f"{prefix}_enc", row_id=instance.pk
        ),
    )
    setattr(instance, f"{prefix}_bidx", crypto.blind_index(value, kind=KINDS[prefix]))
    setattr(instance, f"{prefix}_last4", crypto.last4(value))


def reveal(instance: Any, prefix: str) -> str:
    """The clear identifier of a row ('' if none); callers audit the reveal when a person sees it."""
    token = getattr(instance, f"{prefix}_enc")
    if not token:
        return ""
    return crypto.decrypt(
        token, table=instance._meta.db_table, column=f"{prefix}_enc", row_id=instance.pk
    )


def bidx(value: str, prefix: str) -> str:
    """The blind index of a clear identifier of the kind stored under `prefix`."""
    return crypto.blind_index(value, kind=KINDS[prefix]) if value else ""
