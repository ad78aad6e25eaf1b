"""The canonical serialization of an audit event and the link hash (see `audit.chain` for why).

Two formats: 1, the columns as PostgreSQL prints a row value (text); 2, what the sealer writes
now, the same columns in PostgreSQL's binary row format. `canonical_bytes` is the Python
reference that does not trust any function stored in the database; the tests hold it to SQL.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

GENESIS = bytes(32)


FORMAT_VERSION = 2  # the canonical format the sealer writes; format 1 seals verify as before


CHECKPOINT_VERSION = 1


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# The columns of the canonical serialization, in order (both formats); see audit_canonical in SQL.
# Each arrives in Python as a plain value and is printed here; only the jsonb columns and the
# transaction id arrive as their text form.
_EVENT_COLUMNS = (
    "e.id, e.occurred_at AT TIME ZONE 'UTC', e.txid::text, e.catalogue_version, e.actor_id, e.actor_username, "
    "e.actor_agency, e.actor_role, e.api_key_id, e.employer_id, e.action, e.object_type, e.object_id, "
    "e.subjects, e.search_kind, e.search_hmac, e.ip, e.user_agent, e.request_id, e.task_name, "
    "e.run_id, e.case_id, e.agreement_id, e.justification, e.break_glass, e.outcome, "
    "e.changes::text, e.detail::text"
)


_SPACE = " \t\n\r\v\f"


def _array_text(items: list[str]) -> str:
    """A text[] as PostgreSQL's array_out prints it."""
    out = []
    for item in items:
        if (
            item == ""
            or item.upper() == "NULL"
            or any(c in item for c in '{},"\\')
            or any(c in _SPACE for c in item)
        ):
            out.append('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(item)
    return "{" + ",".join(out) + "}"


def _field(value: Any) -> str:
    """One column as record_out prints it inside a row: NULL as nothing, quoted where needed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "t" if value else "f"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}".rstrip("0")
    elif isinstance(value, list | tuple):
        text = _array_text([str(v) for v in value])
    else:
        text = str(value)
    if text == "" or any(c in text for c in '"\\(),') or any(c in _SPACE for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
    return text


def canonical(row: tuple[Any, ...]) -> str:
    """The canonical serialization of an event row selected with `_EVENT_COLUMNS` (format 1)."""
    return "(" + ",".join(_field(v) for v in (1, *row)) + ")"


# Format 2: each column's PostgreSQL type OID and binary send form (int2/int4/int8 big-endian,
# timestamptz as microseconds since 2000-01-01 UTC, xid8 unsigned, text as UTF-8 bytes, bool one
# byte, varchar[] and inet in their array_send and inet_send layouts, jsonb as version 1 + text).
_INT4, _INT8, _INT2, _TSTZ, _XID8, _VARCHAR, _TEXT, _BOOL, _VARCHAR_ARRAY, _INET, _JSONB = (
    23,
    20,
    21,
    1184,
    5069,
    1043,
    25,
    16,
    1015,
    869,
    3802,
)


_V2_TYPES = (
    _INT4,
    _INT8,
    _TSTZ,
    _XID8,
    _INT2,
    _INT8,
    _VARCHAR,
    _VARCHAR,
    _VARCHAR,
    _INT8,
    _INT8,
    _VARCHAR,
    _VARCHAR,
    _VARCHAR,
    _VARCHAR_ARRAY,
    _VARCHAR,
    _VARCHAR,
    _INET,
    _VARCHAR,
    _VARCHAR,
    _VARCHAR,
    _VARCHAR,
    _INT8,
    _INT8,
    _TEXT,
    _BOOL,
    _VARCHAR,
    _JSONB,
    _JSONB,
)


def _send(oid: int, value: Any) -> bytes:
    """One value's binary send form, as PostgreSQL's send function of that type writes it."""
    if oid == _INT8:
        return struct.pack(">q", value)
    if oid == _INT4:
        return struct.pack(">i", value)
    if oid == _INT2:
        return struct.pack(">h", value)
    if oid == _TSTZ:  # selected AT TIME ZONE 'UTC': a naive UTC datetime
        return struct.pack(
            ">q", (value.replace(tzinfo=UTC) - _PG_EPOCH) // timedelta(microseconds=1)
        )
    if oid == _XID8:  # selected as text
        return struct.pack(">Q", int(value))
    if oid == _BOOL:
        return b"\x01" if value else b"\x00"
    if oid == _INET:
        iface = ipaddress.ip_interface(str(value))
        packed = iface.ip.packed
        return (
            bytes((2 if iface.version == 4 else 3, iface.network.prefixlen, 0, len(packed)))
            + packed
        )
    if oid == _VARCHAR_ARRAY:
        items = list(value)
        out = [
            struct.pack(
                ">iiI", 1 if items else 0, 1 if any(v is None for v in items) else 0, _VARCHAR
            )
        ]
        if items:
            out.append(struct.pack(">ii", len(items), 1))
        for item in items:
            data = None if item is None else str(item).encode("utf-8")
            out.append(
                struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data
            )
        return b"".join(out)
    if oid == _JSONB:  # selected as text
        return b"\x01" + str(value).encode("utf-8")
    return str(value).encode("utf-8")


def canonical_v2(row: tuple[Any, ...]) -> bytes:
    """The canonical serialization of an event row selected with `_EVENT_COLUMNS` (format 2)."""
    out = [struct.pack(">i", len(_V2_TYPES))]
    for oid, value in zip(_V2_TYPES, (2, *row), strict=True):
        if value is None:
            out.append(struct.pack(">Ii", oid, -1))
        else:
            data = _send(oid, value)
            out.append(struct.pack(">Ii", oid, len(data)) + data)
    return b"".join(out)


def canonical_bytes(row: tuple[Any, ...], fmt: int) -> bytes:
    """The bytes an event's hash covers in canonical format `fmt` (1 or 2)."""
    if fmt == 1:
        return canonical(row).encode("utf-8")
    if fmt == 2:
        return canonical_v2(row)
    raise ValueError(f"Unknown canonical format {fmt}")


def link_hash(prev_hash: bytes, canonical_body: str | bytes) -> bytes:
    """An event's hash: SHA-256 over the previous hash and the event's canonical serialization."""
    body = canonical_body.encode("utf-8") if isinstance(canonical_body, str) else canonical_body
    return hashlib.sha256(bytes(prev_hash) + body).digest()
