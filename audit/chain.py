"""The hash chain: sealing, the canonical serialization, verification and signed checkpoints.

Why a sealer, and not chaining at insert under a lock. Measured with `make bench AREA=audit`
(part 2, which prints both every run), on the 2-core machine with PostgreSQL 15, while other
work shared it (load average 7 to 11; the ratios matter more than the absolute figures):

* Chaining at insert needs one lock that every writer holds from its audit insert until its
  transaction commits, since the next event's hash needs this one's. Eight writers, one event per
  transaction: 166 events/s chained under the lock against 1,069 events/s unchained (6.4x).
  And when one writer keeps its transaction open 200 ms after its audit insert, as a service
  doing more work after recording does, every other writer waits behind it: their p99 commit
  time was 309 ms chained against 41 ms unchained. A page view must never wait for somebody
  else's long transaction, so the lock is out.
* With a sealer, writers only INSERT (no shared lock, no read of the chain head), so the audit
  write costs what any insert costs. One sealer, run every few seconds by beat (and before
  verification, checkpoints and exports), chains what has committed, computing the canonical
  texts set-based and only the hashing sequentially (about 15,000 events/s under that load,
  bounded by the canonical serialization: the sealer keeps up with a sustained 15,000
  audited actions a second, far above the expected peak).

The sealer (SQL function `audit_seal_pending`, migration 0001) chains only events whose
transaction id is below the horizon: the oldest transaction of this database still running at a
fresh snapshot. Every transaction below it has ended, so no event can still appear there later.
An event whose id was allocated early and committed late is never skipped: its transaction holds
the horizon back until it commits, and it is chained then. The chain order is (txid, id),
deterministic and gap-free, and `seq` numbers it. Only the chain's order differs from the commit
order, and only among transactions that overlapped in time.

Verification recomputes every event's canonical serialization from its columns, in SQL for speed
(one set-based pass per chunk) or in Python (`canonical_bytes`, the reference that does not
trust any function stored in the database), and checks each link to the previous hash. The
Python and SQL serializations are held to each other by the tests.

Two canonical formats; each seal says which one its hash covers (`audit_seal.format`):

* format 1 (`audit_canonical`, migration 0001): the columns printed as PostgreSQL prints a row
  value (record_out), as text;
* format 2 (`audit_canonical_v2`, migration 0004), what the sealer writes now: the same columns
  in PostgreSQL's binary row format (record_send). Verification is bounded by this serialization
  (the join, the hash and the link check together cost less than it), and the binary send forms
  skip the text output of times, arrays, addresses and integers. Measured on one 100,000-event
  chunk of the audit bench (backend CPU, median of 7, machine shared with a data load): 950 ms
  for format 1 with the window-sorted check, 710 ms for format 2 with the check below. The
  whole verification (`make bench AREA=audit`, two connections): 153,000 events/s at 1M and
  161,000 at 10M before; with format 2 and the two-statement check, five runs in one hour gave
  133,000 to 217,000 at 1M and 165,000 to 208,000 at 10M. The host takes CPU away at times, and
  verification is bound by CPU: about 9 us of machine CPU per event, both cores busy, that day.
  On a quieter (new) machine later: 401,000 events/s at 1M and 425,000 at 10M, 4.6-4.9 us per
  event; per 100,000-event chunk the backend spends about 0.08 s on the seal-only statement and
  0.41 s on the joined one (0.06 s the join itself, 0.22 s record_send, the rest SHA-256).

A chunk is checked in two statements: one over the seals alone, in seq order from their index
(count, bounds, gaps and links, by lag()), and one joining the seals to their events that finds
the first missing and the first altered event (plain aggregates, no sort of the joined rows).

Checkpoints: every few minutes the chain head (seq, hash) is signed with an Ed25519 key kept
outside the database and appended to a file outside the database. A superuser who rewrites
history and recomputes every hash still cannot forge the signature, so the verifier catches the
rewrite at the first checkpoint it contradicts, and a truncated tail at the checkpoint it misses.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import queue
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, connections, transaction

from audit.models import RetentionAnchor

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


# --- Canonical serialization ------------------------------------------------------------------


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


# --- Sealing ---------------------------------------------------------------------------------------


def seal_pending(
    *, batch: int = 20_000, limit: int | None = None, fmt: int = FORMAT_VERSION
) -> int:
    """Chain every event whose transaction has ended; returns how many were sealed.

    `fmt` is the canonical format of the new seals; only tests ask for the old format 1.
    """
    total = 0
    while limit is None or total < limit:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT audit_seal_pending(%s, %s)", [batch, fmt])
            sealed = int(cursor.fetchone()[0])
        total += sealed
        if sealed < batch:
            break
    return total


def head() -> tuple[int, bytes, int] | None:
    """(seq, hash, event id) of the newest seal, or None on an empty chain."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash, event_id FROM audit_seal ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
    return (int(row[0]), bytes(row[1]), int(row[2])) if row else None


def unsealed_count() -> int:
    """Events not chained yet (the sealer's backlog); an index range scan past the head."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.txid, s.event_id FROM audit_seal s ORDER BY s.seq DESC LIMIT 1")
        row = cursor.fetchone()
        last_txid, last_id = (str(row[0]), int(row[1])) if row else ("0", 0)
        cursor.execute(
            "SELECT count(*) FROM audit_event e WHERE (e.txid, e.id) > (%s::xid8, %s::bigint)",
            [last_txid, last_id],
        )
        return int(cursor.fetchone()[0])


# --- Checkpoints -----------------------------------------------------------------------------------


def _key_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_KEY_FILE)


def signing_key() -> Ed25519PrivateKey:
    """The checkpoint signing key, from a file outside the database (created in development)."""
    path = _key_path()
    if not path.exists():
        if not settings.AUDIT_CHECKPOINT_KEY_CREATE:
            raise FileNotFoundError(
                f"The audit checkpoint key {path} is missing (AUDIT_CHECKPOINT_KEY_FILE)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError("The audit checkpoint key must be an Ed25519 key.")
    return loaded


def verify_key() -> Ed25519PublicKey:
    """The public half: from AUDIT_CHECKPOINT_PUBLIC_KEY_FILE if set (verifier-only hosts), else derived."""
    public_file = getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "")
    if public_file:
        loaded = serialization.load_pem_public_key(Path(public_file).read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise TypeError("The audit checkpoint public key must be an Ed25519 key.")
        return loaded
    return signing_key().public_key()


def _fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: at `signed_at` the chain's head was `seq` with hash `hash`."""

    seq: int
    hash: str
    event_id: int
    signed_at: str
    key: str
    sig: str = ""
    valid: bool = True


def checkpoint_path() -> Path:
    """Where checkpoints are appended (outside the database)."""
    return Path(settings.AUDIT_CHECKPOINT_PATH)


def checkpoint_sign() -> Checkpoint | None:
    """Seal what has committed, then sign the chain head and append it to the checkpoint file."""
    seal_pending()
    current = head()
    if current is None:
        return None
    seq, digest, event_id = current
    key = signing_key()
    signed_at = datetime.now(UTC).isoformat()
    fingerprint = _fingerprint(key.public_key())
    payload: dict[str, Any] = {
        "v": CHECKPOINT_VERSION,
        "seq": seq,
        "hash": digest.hex(),
        "event_id": event_id,
        "signed_at": signed_at,
        "key": fingerprint,
    }
    signature = base64.b64encode(key.sign(_signed_bytes(payload))).decode()
    line = json.dumps({**payload, "sig": signature}, sort_keys=True) + "\n"
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(
        seq=seq,
        hash=digest.hex(),
        event_id=event_id,
        signed_at=signed_at,
        key=fingerprint,
        sig=signature,
    )


def checkpoints(*, min_seq: int = 0) -> list[Checkpoint]:
    """The checkpoints in the file at or after `min_seq`, each with its signature checked."""
    path = checkpoint_path()
    if not path.exists():
        return []
    public = verify_key()
    found = []
    for raw in path.read_text().splitlines():
        if not raw.strip():
            continue
        data: dict[str, Any] = {}
        try:
            parsed = json.loads(raw)
            data = parsed if isinstance(parsed, dict) else {}
            if int(data.get("seq", 0)) < min_seq:
                continue
            signed = {k: v for k, v in data.items() if k != "sig"}
            public.verify(base64.b64decode(data["sig"]), _signed_bytes(signed))
            valid = True
        except (InvalidSignature, ValueError, KeyError, TypeError):
            valid = False
        found.append(
            Checkpoint(
                seq=int(data.get("seq", 0) or 0),
                hash=str(data.get("hash", "")),
                event_id=int(data.get("event_id", 0) or 0),
                signed_at=str(data.get("signed_at", "")),
                key=str(data.get("key", "")),
                valid=valid,
            )
        )
    return found


# --- Verification ------------------------------------------------------------------------------------


@dataclass
class Problem:
    """The first bad place in the chain."""

    seq: int
    event_id: int | None
    kind: str
    message: str


@dataclass
class VerifyResult:
    """What the verifier found."""

    ok: bool = True
    checked: int = 0
    from_seq: int | None = None
    to_seq: int | None = None
    problem: Problem | None = None
    checkpoints_checked: int = 0
    unsealed: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (for JSON and the status panel)."""
        return asdict(self)


# The seals of a chunk alone, in seq order from their index: the count, the bounds (the event id
# range bounds the join below), the first gap in seq and the first link that does not point at the
# previous hash.
_CHUNK_LINKS_SQL = """
    SELECT count(*), min(seq), max(seq), min(event_id), max(event_id),
        min(seq) FILTER (WHERE prev_seq IS NOT NULL AND seq <> prev_seq + 1),
        min(seq) FILTER (WHERE prev_seq = seq - 1 AND prev_hash IS DISTINCT FROM prev_seq_hash)
    FROM (
        SELECT seq, event_id, prev_hash, lag(seq) OVER w AS prev_seq, lag(hash) OVER w AS prev_seq_hash
        FROM audit_seal WHERE seq >= %s AND seq < %s
        WINDOW w AS (ORDER BY seq)
    ) x
"""

_CHUNK_EDGE_SQL = "SELECT seq, prev_hash, hash, event_id FROM audit_seal WHERE seq = %s"

# The first missing and the first altered event of a chunk: its seals joined to their events, each
# event's hash recomputed in the format its seal names (an unknown format leaves a NULL, which
# differs from every hash), in plain aggregates over the join (no sort).
_CHUNK_EVENTS_SQL = """
    SELECT min(s.seq) FILTER (WHERE e.id IS NULL),
        min(s.seq) FILTER (WHERE e.id IS NOT NULL AND sha256(s.prev_hash || CASE s.format
            WHEN 2 THEN audit_canonical_v2(e) WHEN 1 THEN convert_to(audit_canonical(e), 'UTF8') END)
            IS DISTINCT FROM s.hash)
    FROM audit_seal s
    LEFT JOIN audit_event e ON e.id = s.event_id AND e.occurred_at = s.occurred_at AND e.id BETWEEN %s AND %s
    WHERE s.seq >= %s AND s.seq < %s
"""

_MESSAGES = {
    "missing": "Event {event} (seq {seq}) is missing: its row was removed from the trail.",
    "altered": "Event {event} (seq {seq}) was altered: its columns no longer match its hash.",
    "gap": "The chain skips to seq {seq} (event {event}): the links before it were removed.",
    "link": "Event {event} (seq {seq}) does not link to the previous event's hash: rows were removed, inserted or reordered.",
}


def _problem(seq: int, event_id: int | None, kind: str) -> Problem:
    return Problem(
        seq=seq,
        event_id=event_id,
        kind=kind,
        message=_MESSAGES[kind].format(seq=seq, event=event_id),
    )


def _retained_start() -> int | None:
    """The first seq the kept chain may begin after (retention dropped what came before)."""

    return (
        RetentionAnchor.objects.filter(max_seq__isnull=False)
        .order_by("-max_seq")
        .values_list("max_seq", flat=True)
        .first()
    )


def _python_problem(
    lo: int, hi: int, prev: bytes | None, prev_seq: int | None
) -> tuple[Problem | None, int]:
    """Reference check of seq [lo, hi) in Python: recomputes each canonical serialization itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.seq, s.event_id, s.prev_hash, s.hash, e.id IS NOT NULL, s.format, {_EVENT_COLUMNS}
            FROM audit_seal s LEFT JOIN audit_event e ON e.id = s.event_id AND e.occurred_at = s.occurred_at
            WHERE s.seq >= %s AND s.seq < %s ORDER BY s.seq
            """,  # noqa: S608 - the interpolated text is a constant column list
            [lo, hi],
        )
        count = 0
        for row in cursor.fetchall():
            seq, event_id, prev_hash, digest, present, fmt = row[:6]
            count += 1
            if not present:
                return _problem(seq, event_id, "missing"), count
            try:
                body = canonical_bytes(row[6:], fmt)
            except ValueError:
                body = None
            if body is None or link_hash(bytes(prev_hash), body) != bytes(digest):
                return _problem(seq, event_id, "altered"), count
            if prev_seq is not None and seq != prev_seq + 1:
                return _problem(seq, event_id, "gap"), count
            if prev is not None and bytes(prev_hash) != prev:
                return _problem(seq, event_id, "link"), count
            prev, prev_seq = bytes(digest), seq
    return None, count


def _chunks(lo: int, hi: int, size: int) -> Iterator[tuple[int, int]]:
    start = lo
    while start <= hi:
        yield start, min(start + size, hi + 1)
        start += size


ChunkOutcome = tuple[int, tuple[int, bytes, int], tuple[int, bytes], Problem | None] | None


def _check_chunk(a: int, b: int) -> ChunkOutcome:
    """Check seq [a, b): its count, first and last links, and first problem."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")  # format 1's time format
        cursor.execute("SET LOCAL client_encoding = 'UTF8'")  # format 2's text bytes
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # JIT compiles each chunk's plan anew (30-40 ms) and then runs the row serialization no
        # faster than the interpreter: measured 5-10% slower per chunk with it on.
        cursor.execute("SET LOCAL jit = off")
        if _workers() > 1:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # we run our own
        cursor.execute(_CHUNK_LINKS_SQL, [a, b])
        count, cmin, cmax, min_id, max_id, gap_seq, link_seq = cursor.fetchone()
        if not count:
            return None
        cursor.execute(_CHUNK_EVENTS_SQL, [min_id, max_id, a, b])
        missing_seq, altered_seq = cursor.fetchone()
        # The first bad seq; at one seq, the kinds in this order (a missing event is not also
        # called altered, an altered one is reported before its link).
        found_kind: tuple[int, str] | None = None
        for seq, kind in (
            (missing_seq, "missing"),
            (altered_seq, "altered"),
            (gap_seq, "gap"),
            (link_seq, "link"),
        ):
            if seq is not None and (found_kind is None or seq < found_kind[0]):
                found_kind = (int(seq), kind)
        cursor.execute(_CHUNK_EDGE_SQL, [cmin])
        first_link = cursor.fetchone()
        cursor.execute(_CHUNK_EDGE_SQL, [cmax])
        last_link = cursor.fetchone()
        found = None
        if found_kind is not None:
            cursor.execute(_CHUNK_EDGE_SQL, [found_kind[0]])
            found = _problem(found_kind[0], int(cursor.fetchone()[3]), found_kind[1])
    return (
        int(count),
        (int(cmin), bytes(first_link[1]), int(first_link[3])),
        (int(cmax), bytes(last_link[2])),
        found,
    )


def _workers() -> int:
    return max(1, int(getattr(settings, "AUDIT_VERIFY_WORKERS", 2)))


def _run_chunks(chunks: list[tuple[int, int]], *, workers: int) -> list[ChunkOutcome]:
    """Check chunks on `workers` connections at once (each thread has its own); results in order.

    Each thread takes the next chunk from a shared queue on one connection, which it closes when
    the queue is empty: a new backend per chunk would cost its start-up and cold caches each time.
    Inside a transaction (tests, or a caller's atomic block) other connections would not see
    its rows, so it checks them one by one on this connection.
    """
    if workers == 1 or len(chunks) == 1 or connection.in_atomic_block:
        return [_check_chunk(a, b) for a, b in chunks]

    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(chunks)):
        todo.put(index)
    results: list[ChunkOutcome] = [None] * len(chunks)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not errors:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                results[index] = _check_chunk(*chunks[index])
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, name=f"audit-verify-{n}")
        for n in range(min(workers, len(chunks)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def verify(
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    thorough: bool = False,
    chunk: int = 100_000,
    use_checkpoints: bool = True,
) -> VerifyResult:
    """Check the chain (or the seq range [from_seq, to_seq]) and report the first bad event exactly."""

    started = time.perf_counter()
    result = VerifyResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(seq), max(seq) FROM audit_seal")
        first, last = cursor.fetchone()
    result.unsealed = unsealed_count()
    if first is None:
        result.notes.append("The chain is empty.")
        _check_checkpoints(result, first=None, last=None)
        result.seconds = time.perf_counter() - started
        return result
    anchor = _retained_start()
    expected_first = (anchor + 1) if anchor is not None else 1
    lo = max(first, from_seq) if from_seq is not None else first
    hi = min(last, to_seq) if to_seq is not None else last
    result.from_seq, result.to_seq = lo, hi
    problems: list[Problem] = []
    if from_seq is None and first != expected_first:
        with connection.cursor() as cursor:
            cursor.execute(_CHUNK_EDGE_SQL, [first])
            edge = cursor.fetchone()
        problems.append(_problem(first, edge[3], "gap"))
    prev: bytes | None = None
    prev_seq: int | None = None
    if lo > first:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq, hash FROM audit_seal WHERE seq < %s ORDER BY seq DESC LIMIT 1", [lo]
            )
            row = cursor.fetchone()
        if row:
            prev_seq, prev = int(row[0]), bytes(row[1])
    elif anchor is not None and first == expected_first:
        kept = (
            RetentionAnchor.objects.filter(max_seq=anchor)
            .values_list("max_seq_hash", flat=True)
            .first()
        )
        prev, prev_seq = (bytes(kept) if kept else None), anchor
    elif first == 1:
        prev, prev_seq = GENESIS, 0
    if not problems and thorough:
        for a, b in _chunks(lo, hi, chunk):
            found, count = _python_problem(a, b, prev, prev_seq)
            result.checked += count
            if found:
                problems.append(found)
                break
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT seq, hash FROM audit_seal WHERE seq < %s ORDER BY seq DESC LIMIT 1", [b]
                )
                tail_row = cursor.fetchone()
            if tail_row:
                prev_seq, prev = int(tail_row[0]), bytes(tail_row[1])
    elif not problems:
        outcomes = _run_chunks(list(_chunks(lo, hi, chunk)), workers=_workers())
        for outcome in outcomes:  # in seq order: stitch each chunk to the one before
            if outcome is None:
                continue
            count, (cmin, cmin_prev, cmin_event), (cmax, cmax_hash), found = outcome
            result.checked += count
            if prev_seq is not None and cmin != prev_seq + 1:
                problems.append(_problem(cmin, cmin_event, "gap"))
                break
            if prev is not None and cmin_prev != prev:
                problems.append(_problem(cmin, cmin_event, "link"))
                break
            if found:
                problems.append(found)
                break
            prev_seq, prev = cmax, cmax_hash
    if use_checkpoints:
        cp_problem = _check_checkpoints(result, first=first, last=last, min_seq=from_seq or 0)
        if cp_problem is not None:
            problems.append(cp_problem)
    if problems:
        result.ok = False
        result.problem = min(problems, key=lambda p: p.seq)
    result.seconds = time.perf_counter() - started
    return result


def _check_checkpoints(
    result: VerifyResult,
    *,
    first: int | None,
    last: int | None,
    min_seq: int = 0,
) -> Problem | None:
    """Hold the chain to every signed checkpoint: a rewrite or a cut tail cannot match them."""
    found = checkpoints(min_seq=min_seq)
    if not found:
        return None
    matched = 0
    with connection.cursor() as cursor:
        for cp in sorted(found, key=lambda c: c.seq):
            result.checkpoints_checked += 1
            if not cp.valid:
                return Problem(
                    seq=cp.seq,
                    event_id=cp.event_id,
                    kind="checkpoint_signature",
                    message=f"The checkpoint for seq {cp.seq} signed at {cp.signed_at} has a bad signature: the checkpoint file was edited.",
                )
            if first is not None and cp.seq < first:
                continue  # dropped by retention
            if last is None or cp.seq > last:
                cut_from = (last or 0) + 1
                return Problem(
                    seq=cut_from,
                    event_id=None,
                    kind="truncated",
                    message=f"The chain ends at seq {last or 0}, but a checkpoint signed at {cp.signed_at} covers seq {cp.seq}: events from seq {cut_from} to {cp.seq} were removed.",
                )
            cursor.execute("SELECT hash, event_id FROM audit_seal WHERE seq = %s", [cp.seq])
            row = cursor.fetchone()
            if row is None or bytes(row[0]).hex() != cp.hash:
                after = matched + 1
                return Problem(
                    seq=after,
                    event_id=cp.event_id,
                    kind="rewritten",
                    message=f"The chain at seq {cp.seq} differs from the checkpoint signed at {cp.signed_at}: history between seq {after} and {cp.seq} was rewritten and its hashes recomputed.",
                )
            matched = cp.seq
    return None
