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

from audit.canonical import (
    CHECKPOINT_VERSION,
    FORMAT_VERSION,
    GENESIS,
    canonical,
    canonical_bytes,
    canonical_v2,
    link_hash,
)
from audit.checkpoints import (
    Checkpoint,
    checkpoint_path,
    checkpoint_sign,
    checkpoints,
    signing_key,
    verify_key,
)
from audit.sealing import head, seal_pending, unsealed_count
from audit.verify import ChunkOutcome, Problem, VerifyResult, verify

__all__ = [
    "CHECKPOINT_VERSION",
    "FORMAT_VERSION",
    "GENESIS",
    "Checkpoint",
    "ChunkOutcome",
    "Problem",
    "VerifyResult",
    "canonical",
    "canonical_bytes",
    "canonical_v2",
    "checkpoint_path",
    "checkpoint_sign",
    "checkpoints",
    "head",
    "link_hash",
    "seal_pending",
    "signing_key",
    "unsealed_count",
    "verify",
    "verify_key",
]
