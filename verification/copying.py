"""Reference rows to PostgreSQL COPY lines: identifiers sealed (encrypted, blind-indexed, masked), text
and arrays escaped, streamed to COPY without holding the file in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.db import connection

from privacy import crypto
from verification.identifiers import KINDS
from verification.models import (
    EnforcementSubject,
    ImmigrationRecord,
    Numident,
    ReferenceSource,
)

# The model behind each source: its table gets the COPY.
MODELS: dict[str, Any] = {
    ReferenceSource.SSA: Numident,
    ReferenceSource.DHS: ImmigrationRecord,
    ReferenceSource.ENFORCEMENT: EnforcementSubject,
}


def _text(value: Any) -> str:
    """A value in COPY text format (no tabs, newlines or backslashes reach here)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _array(values: list[str]) -> str:
    """A text[] literal for COPY: {"a","b"} (values are validated: no quotes or backslashes)."""
    return "{" + ",".join('"' + v.replace('"', "") + '"' for v in values) + "}"


def _sealed(
    value: str, prefix: str, *, table: str, row_id: int, key: bytes, ring: crypto.Keyring
) -> tuple[str, str, str]:
    if not value:
        return "", "", ""
    return (
        crypto.encrypt(value, table=table, column=f"{prefix}_enc", row_id=row_id, ring=ring),
        crypto.blind_index(value, kind=KINDS[prefix], key=key),
        value[-4:],
    )


def copy_line(
    source: str,
    clean: dict[str, Any],
    *,
    row_id: int,
    load_id: int,
    key: bytes,
    ring: crypto.Keyring,
) -> str:
    """One row of the COPY stream, identifiers sealed for its row id."""
    table = MODELS[source]._meta.db_table
    if source == ReferenceSource.SSA:
        values: list[Any] = [
            row_id,
            load_id,
            *_sealed(clean["ssn"], "ssn", table=table, row_id=row_id, key=key, ring=ring),
        ]
        values += [
            clean[c]
            for c in (
                "first_name",
                "middle_name",
                "last_name",
                "date_of_birth",
                "citizenship",
                "death_date",
                "locked",
            )
        ]
    elif source == ReferenceSource.DHS:
        values = [row_id, load_id]
        for prefix in ("a_number", "i94", "passport"):
            values += _sealed(clean[prefix], prefix, table=table, row_id=row_id, key=key, ring=ring)
        values += [
            clean[c]
            for c in (
                "passport_country",
                "first_name",
                "last_name",
                "date_of_birth",
                "country_of_birth",
                "class_of_admission",
                "work_authorized_from",
                "work_authorized_until",
                "naturalized_on",
            )
        ]
    else:
        docs = clean["documents"]
        values = [
            row_id,
            load_id,
            clean["subject_ref"],
            clean["first_name"],
            clean["last_name"],
            _array(clean["aliases"]),
            clean["date_of_birth"],
            clean["nationality"],
            _array(
                [
                    crypto.encrypt(
                        d, table=table, column=f"documents_enc[{i}]", row_id=row_id, ring=ring
                    )
                    for i, (_kind, d) in enumerate(docs)
                ]
            ),
            # Indexed under its own kind: a subject's SSN meets a case's SSN, an A-Number an A-Number.
            _array([crypto.blind_index(d, kind=KINDS[kind], key=key) for kind, d in docs]),
            _array([kind for kind, _d in docs]),
            clean["status"],
        ]
    return "\t".join(_text(v) for v in values) + "\n"


class _LineStream(io.RawIOBase):
    """A file-like object over an iterator of text lines, for psycopg2's copy_expert."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 20
        while len(self._buffer) < size:
            chunk = []
            for line in self._lines:
                chunk.append(line)
                if len(chunk) >= 2000:
                    break
            if not chunk:
                break
            self._buffer += "".join(chunk).encode()
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def copy_rows(table: str, columns: list[str], lines: Iterable[str]) -> None:
    """COPY text lines into a table, in the caller's transaction."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT text)"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, _LineStream(iter(lines)), size=1 << 20)
