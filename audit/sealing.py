"""The sealer: chains every committed event below the transaction horizon (see `audit.chain`)."""

from __future__ import annotations

from django.db import connection, transaction

from audit.canonical import FORMAT_VERSION


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
