"""Verification of the chain: every link recomputed, in chunks, on parallel connections.

A chunk is checked in two statements: one over the seals alone, in seq order from their index
(count, bounds, gaps and links, by lag()), and one joining the seals to their events that finds
the first missing and the first altered event (plain aggregates, no sort of the joined rows).
The figures are in `audit.chain`'s docstring and the audit README.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from audit.canonical import _EVENT_COLUMNS, GENESIS, canonical_bytes, link_hash
from audit.checkpoints import checkpoints
from audit.models import RetentionAnchor
from audit.sealing import unsealed_count


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
            """,  # noqa: S608  # nosec B608 # the interpolated text is a constant column list
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
    head = _head_gap(first, expected_first) if from_seq is None else None
    if head is not None:
        problems.append(head)
    else:
        prev_seq, prev = _link_before(lo, first=first, anchor=anchor, expected_first=expected_first)
        walk = _walk_in_python if thorough else _walk_in_chunks
        found = walk(result, lo, hi, chunk, prev_seq=prev_seq, prev=prev)
        if found is not None:
            problems.append(found)
    if use_checkpoints:
        cp_problem = _check_checkpoints(result, first=first, last=last, min_seq=from_seq or 0)
        if cp_problem is not None:
            problems.append(cp_problem)
    if problems:
        result.ok = False
        result.problem = min(problems, key=lambda p: p.seq)
    result.seconds = time.perf_counter() - started
    return result


def _head_gap(first: int, expected_first: int) -> Problem | None:
    """The chain does not begin where it should (after the genesis or the retention anchor)."""
    if first == expected_first:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_CHUNK_EDGE_SQL, [first])
        edge = cursor.fetchone()
    return _problem(first, edge[3], "gap")


def _seal_before(seq: int) -> tuple[int, bytes] | None:
    """(seq, hash) of the last seal before `seq`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, hash FROM audit_seal WHERE seq < %s ORDER BY seq DESC LIMIT 1", [seq]
        )
        row = cursor.fetchone()
    return (int(row[0]), bytes(row[1])) if row else None


def _link_before(
    lo: int, *, first: int, anchor: int | None, expected_first: int
) -> tuple[int | None, bytes | None]:
    """(seq, hash) the seal at `lo` must link to: the seal before it, the hash kept by the
    retention anchor, or the genesis; (None, None) when nothing says."""
    if lo > first:
        return _seal_before(lo) or (None, None)
    if anchor is not None and first == expected_first:
        kept = (
            RetentionAnchor.objects.filter(max_seq=anchor)
            .values_list("max_seq_hash", flat=True)
            .first()
        )
        return anchor, (bytes(kept) if kept else None)
    if first == 1:
        return 0, GENESIS
    return None, None


def _walk_in_python(
    result: VerifyResult,
    lo: int,
    hi: int,
    chunk: int,
    *,
    prev_seq: int | None,
    prev: bytes | None,
) -> Problem | None:
    """The thorough check: every link of [lo, hi] recomputed in Python, chunk after chunk."""
    for a, b in _chunks(lo, hi, chunk):
        found, count = _python_problem(a, b, prev, prev_seq)
        result.checked += count
        if found:
            return found
        tail = _seal_before(b)
        if tail:
            prev_seq, prev = tail
    return None


def _walk_in_chunks(
    result: VerifyResult,
    lo: int,
    hi: int,
    chunk: int,
    *,
    prev_seq: int | None,
    prev: bytes | None,
) -> Problem | None:
    """The fast check: chunks of [lo, hi] checked in SQL on parallel connections, then stitched in
    seq order, each chunk's first link to the last hash of the one before."""
    for outcome in _run_chunks(list(_chunks(lo, hi, chunk)), workers=_workers()):
        if outcome is None:
            continue
        count, (cmin, cmin_prev, cmin_event), (cmax, cmax_hash), found = outcome
        result.checked += count
        if prev_seq is not None and cmin != prev_seq + 1:
            return _problem(cmin, cmin_event, "gap")
        if prev is not None and cmin_prev != prev:
            return _problem(cmin, cmin_event, "link")
        if found:
            return found
        prev_seq, prev = cmax, cmax_hash
    return None


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
