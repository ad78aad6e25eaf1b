"""Export of a filtered range with its chain proof (CSV or JSONL); the export is itself audited.

The proof lets the recipient check the file without the database:

* every exported event carries the exact bytes of its canonical serialization (`canonical_hex`,
  in the `canonical_format` its seal names; see audit/chain.py), `prev_hash` and `hash`:
  sha256(prev_hash || canonical bytes) must equal `hash`;
* the `link` records give (seq, prev_hash, hash) of every event from the first exported one to
  a signed checkpoint, each link's prev_hash being the hash of the one before;
* the `checkpoint` record is signed with the Ed25519 key whose public half is in the `key`
  record: the chain head it names must be the last link.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import connection, transaction

from audit import canonical, chain
from audit.models import AuditEvent
from audit.services import event_record

FIELDS = [
    "id",
    "occurred_at",
    "catalogue_version",
    "actor_id",
    "actor_username",
    "actor_agency",
    "actor_role",
    "api_key_id",
    "employer_id",
    "action",
    "object_type",
    "object_id",
    "subjects",
    "search_kind",
    "search_hmac",
    "ip",
    "user_agent",
    "request_id",
    "task_name",
    "run_id",
    "case_id",
    "agreement_id",
    "justification",
    "break_glass",
    "outcome",
    "changes",
    "detail",
]
MAX_ROWS = 100_000
MAX_LINKS = 1_000_000


def _proof_rows(
    ids: list[int],
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
    """Per-event chain data, the links up to a signed checkpoint, and that checkpoint."""
    if not ids:
        return {}, [], None
    per_event: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.event_id, s.seq, s.prev_hash, s.hash, s.format, {canonical._EVENT_COLUMNS}
            FROM audit_seal s JOIN audit_event e ON e.id = s.event_id AND e.occurred_at = s.occurred_at
            WHERE s.event_id = ANY(%s)
            """,  # noqa: S608  # nosec B608 # constant column list
            [ids],
        )
        for row in cursor.fetchall():
            per_event[row[0]] = {
                "seq": row[1],
                "prev_hash": bytes(row[2]).hex(),
                "hash": bytes(row[3]).hex(),
                "canonical_format": row[4],
                "canonical_hex": chain.canonical_bytes(row[5:], row[4]).hex(),
            }
    if not per_event:
        return per_event, [], None
    checkpoint = chain.checkpoint_sign()
    first = min(p["seq"] for p in per_event.values())
    last = checkpoint.seq if checkpoint else max(p["seq"] for p in per_event.values())
    links = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, prev_hash, hash FROM audit_seal WHERE seq BETWEEN %s AND %s ORDER BY seq LIMIT %s",
            [first, last, MAX_LINKS],
        )
        links = [
            {"seq": s, "prev_hash": bytes(p).hex(), "hash": bytes(h).hex()}
            for s, p, h in cursor.fetchall()
        ]
    signed = None
    if checkpoint is not None:
        signed = {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "event_id": checkpoint.event_id,
            "signed_at": checkpoint.signed_at,
            "key": checkpoint.key,
            "sig": checkpoint.sig,
            "signed_bytes": "JSON of v, seq, hash, event_id, signed_at, key; sorted keys, no spaces",
        }
    return per_event, links, signed


def _event_dict(event: AuditEvent) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in FIELDS}
    data["occurred_at"] = event.occurred_at.isoformat()
    return data


def _public_key_pem() -> str:
    return (
        chain.verify_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class _Export:
    """What an export file holds: its description, the events with their proof, the key."""

    meta: dict[str, Any]
    events: list[Any]
    per_event: dict[int, Any]
    links: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None
    key: dict[str, str]


def export_events(
    *, actor: Any, qs: Any, fmt: str, filters: dict[str, Any]
) -> tuple[str, str, Iterator[str]]:
    """Record the export, then give (filename, content type, lines) of the file with its proof."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError("Export format must be csv or jsonl.")
    chain.seal_pending()
    events = list(qs.order_by("id")[: max_rows()])
    ids = [e.pk for e in events]
    per_event, links, checkpoint = _proof_rows(ids)
    with transaction.atomic():
        record = event_record(
            action="audit.exported",
            actor=actor,
            object_type="audit.export",
            subjects=sorted({s for e in events for s in e.subjects})[:500],
            detail={
                "format": fmt,
                "rows": len(events),
                "filters": {k: str(v) for k, v in filters.items() if v not in (None, "", False)},
                "first_id": ids[0] if ids else None,
                "last_id": ids[-1] if ids else None,
                "checkpoint_seq": checkpoint["seq"] if checkpoint else None,
                "truncated": len(events) == max_rows(),
            },
        )
    stamp = record.occurred_at if record else None
    name = f"audit-export-{stamp:%Y%m%dT%H%M%S}" if stamp else "audit-export"
    meta = {
        "record": "export",
        "exported_by": getattr(actor, "username", ""),
        "rows": len(events),
        "filters": {k: str(v) for k, v in filters.items() if v not in (None, "", False)},
        "system": "Crosscheck audit trail",
        "hash": "sha256(prev_hash || canonical bytes (canonical_hex))",
        "audit_event_id": record.pk if record else None,
    }
    key = {"record": "key", "algorithm": "Ed25519", "public_key_pem": _public_key_pem()}
    x = _Export(meta, events, per_event, links, checkpoint, key)
    if fmt == "jsonl":
        return f"{name}.jsonl", "application/x-ndjson", _jsonl_lines(x)
    return f"{name}.csv", "text/csv; charset=utf-8", _csv_lines(x)


def _jsonl_lines(x: _Export) -> Iterator[str]:
    """The export as JSON lines: its description, the events, the links, the checkpoint, the key."""
    yield json.dumps(x.meta, default=str) + "\n"
    for event in x.events:
        yield (
            json.dumps(
                {"record": "event", **_event_dict(event), "chain": x.per_event.get(event.pk)},
                default=str,
                ensure_ascii=False,
            )
            + "\n"
        )
    for link in x.links:
        yield json.dumps({"record": "link", **link}) + "\n"
    if x.checkpoint:
        yield json.dumps({"record": "checkpoint", **x.checkpoint}) + "\n"
    yield json.dumps(x.key) + "\n"


def _csv_lines(x: _Export) -> Iterator[str]:
    """The export as CSV: one row per event, link, checkpoint and key, then its description."""
    header = [
        "record",
        *FIELDS,
        "seq",
        "prev_hash",
        "hash",
        "canonical_format",
        "canonical_hex",
        "signature",
        "note",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    blank = [""] * len(FIELDS)
    yield line(header)
    for event in x.events:
        data = _event_dict(event)
        proof = x.per_event.get(event.pk) or {}
        values = [
            json.dumps(data[f], ensure_ascii=False) if isinstance(data[f], dict | list) else data[f]
            for f in FIELDS
        ]
        yield line(
            [
                "event",
                *values,
                proof.get("seq", ""),
                proof.get("prev_hash", ""),
                proof.get("hash", ""),
                proof.get("canonical_format", ""),
                proof.get("canonical_hex", ""),
                "",
                "",
            ]
        )
    for link in x.links:
        yield line(["link", *blank, link["seq"], link["prev_hash"], link["hash"], "", "", "", ""])
    if x.checkpoint:
        yield line(
            [
                "checkpoint",
                *blank,
                x.checkpoint["seq"],
                "",
                x.checkpoint["hash"],
                "",
                "",
                x.checkpoint["sig"],
                json.dumps({k: x.checkpoint[k] for k in ("event_id", "signed_at", "key")}),
            ]
        )
    yield line(
        ["key", *blank, "", "", "", "", "", x.key["public_key_pem"], "Ed25519 public key (PEM)"]
    )
    yield line(["export", *blank, "", "", "", "", "", "", json.dumps(x.meta, default=str)])


def max_rows() -> int:
    """The most rows one export may hold."""
    return int(getattr(settings, "AUDIT_EXPORT_MAX_ROWS", MAX_ROWS))
