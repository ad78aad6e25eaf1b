"""Checking the rows of an import by the single submission's rules, a chunk at a time.

Each row is typed (`reading.typed`), then cleaned by `services.cleaning.clean_case` and judged by
`services.submit.business_checks`, exactly as a single submit. What a single submit asks the
database row by row (is the employer's case id taken, which earlier case of this SSN lies inside
the duplicate window, was this row imported before) is asked once per chunk; earlier rows of the
same file count as earlier cases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.arrays import text_array
from core.errors import ValidationFailed
from verification.identifiers import bidx
from verification.imports import reading
from verification.models import ClosureCode, Employer, HiringSite
from verification.services.cleaning import CleanCase, clean_case
from verification.services.submit import PriorCase, business_checks

# One index probe per value, whatever the planner believes of the employer's rows. Written as a
# plain `employer_id = %s AND x = ANY(%s)`, the plan hangs on the table's statistics: inside the
# import's own transaction (or for an employer new to the statistics) the employer looks small,
# the planner scans all its cases per chunk, and a 1M-row import grows quadratically. A LATERAL
# subquery with LIMIT is not flattened, so each value is looked up alone, by the unique index.
_SEEN_SQL = """SELECT k.v FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL (
    SELECT 1 FROM verification_verificationcase c
    WHERE c.employer_id = %s AND c.import_key = k.v AND c.import_key <> '' LIMIT 1) AS x"""
_TAKEN_SQL = """SELECT k.v FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL (
    SELECT 1 FROM verification_verificationcase c
    WHERE c.employer_id = %s AND c.employer_case_id = k.v AND c.employer_case_id <> '' LIMIT 1) AS x"""
# The latest earlier case of each SSN inside the duplicate window (as submit._PRIOR_SQL, per chunk).
# The cases of each SSN are read by its index alone (OFFSET 0 keeps the other conditions out of
# the subquery), for the same reason as above: the employer's index would be scanned whole.
_PRIOR_SQL = """SELECT DISTINCT ON (s.b) s.b, x.id, x.created_at
FROM unnest(%s::text[]) AS s(b) CROSS JOIN LATERAL (
    SELECT c.id, c.created_at, c.employer_id, c.closure_code FROM verification_verificationcase c
    WHERE c.ssn_bidx = s.b OFFSET 0) AS x
WHERE x.employer_id = %s AND x.created_at >= %s AND x.closure_code <> %s
ORDER BY s.b, x.id DESC"""
# These probes cost little each but many together: JIT compiling them (about 100 ms a statement
# here) costs more than it saves. For the rest of the import's transaction.
_NO_JIT_SQL = "SET LOCAL jit = off"


@dataclass(frozen=True)
class Good:
    """A row that passed every check, ready to become a case."""

    line: int
    clean: CleanCase
    ssn_bidx: str
    import_key: str
    duplicate_of: int | None


@dataclass
class FileState:
    """What the earlier good rows of the file claimed (case ids, SSNs, row keys)."""

    case_ids: dict[str, int] = field(default_factory=dict)
    ssns: dict[str, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


@dataclass
class Checked:
    """The outcome of checking a chunk: good rows, errors (line, field, message), rows seen before."""

    good: list[Good] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    bad_lines: int = 0
    already: int = 0


def row_key(raw: dict[str, str]) -> str:
    """The row's idempotency key: its own `import_key`, else a hash of its values."""
    own = (raw.get(reading.KEY_COLUMN) or "").strip()
    if own:
        return own
    items = [(k, v) for k, v in sorted(raw.items()) if v != "" and k != reading.KEY_COLUMN]
    if all(v.isprintable() and '"' not in v and "\\" not in v for _k, v in items):
        # What json.dumps writes for printable text with no quote or backslash (column names
        # are plain): the same key, without the encoder's cost on a million rows.
        canonical = "{" + ",".join(f'"{k}":"{v}"' for k, v in items) + "}"
    else:
        canonical = json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def employer_sites(employer: Employer) -> dict[int, HiringSite]:
    """The employer's hiring sites by id (one read per chunk instead of one per row)."""
    return {s.pk: s for s in HiringSite.objects.filter(employer=employer)}


def _db_facts(
    employer: Employer, keys: list[str], case_ids: list[str], ssns: list[str]
) -> tuple[set[str], set[str], dict[str, PriorCase]]:
    """Row keys imported before, employer case ids taken, the latest earlier case per SSN."""
    since = timezone.now() - timedelta(days=settings.VERIFICATION_DUPLICATE_WINDOW_DAYS)
    # In a transaction, so that SET LOCAL holds for the three (the validation pass of an import
    # that asks runs in autocommit); inside the import's own, no savepoint.
    with transaction.atomic(savepoint=False), connection.cursor() as cur:
        cur.execute(_NO_JIT_SQL)
        cur.execute(_SEEN_SQL, [text_array(keys), employer.pk])
        seen = {r[0] for r in cur.fetchall()}
        cur.execute(_TAKEN_SQL, [text_array(case_ids), employer.pk])
        taken = {r[0] for r in cur.fetchall()}
        cur.execute(
            _PRIOR_SQL,
            [text_array(ssns), employer.pk, since, ClosureCode.DUPLICATE],
        )
        prior = {b: PriorCase(pk, created) for b, pk, created in cur.fetchall()}
    return seen, taken, prior


def _cleaned(
    raw: dict[str, str], employer: Employer, on: date, sites: dict[int, HiringSite]
) -> tuple[CleanCase | None, dict[str, list[str]]]:
    data, errors = reading.typed(raw)
    try:
        return clean_case(data, employer=employer, on=on, sites=sites), errors
    except ValidationFailed as exc:
        for name, messages in (exc.field_errors or {}).items():
            errors.setdefault(name, list(messages))  # a type error says it first
        return None, errors


@dataclass(frozen=True)
class Cleaned:
    """A row that passed the per-row rules (`clean_case`), not yet judged against the database."""

    line: int
    clean: CleanCase
    import_key: str
    ssn_bidx: str


@dataclass
class Prepared:
    """A chunk's rows after the per-row rules: what needs no lock and no database."""

    cleaned: list[Cleaned] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    bad_lines: int = 0


def clean_rows(
    rows: list[tuple[int, dict[str, str] | None, str]],
    *,
    employer: Employer,
    on: date,
    sites: dict[int, HiringSite],
) -> Prepared:
    """The per-row rules of a chunk (the single submit's `clean_case`), with no database and no lock:
    several runners do this side by side."""
    out = Prepared()
    for line, raw, shape in rows:
        if raw is None:
            out.errors.append((line, "*", shape))
            out.bad_lines += 1
            continue
        clean, errors = _cleaned(raw, employer, on, sites)
        key = row_key(raw)
        if len(key) > 64 or not key.isprintable():
            errors.setdefault(reading.KEY_COLUMN, ["At most 64 printable characters."])
        if errors or clean is None:
            out.errors += [(line, f, m) for f, ms in errors.items() for m in ms]
            out.bad_lines += 1
            continue
        out.cleaned.append(Cleaned(line, clean, key, bidx(clean.identifiers["ssn"], "ssn")))
    return out


def check_rows(
    rows: list[tuple[int, dict[str, str] | None, str]],
    *,
    employer: Employer,
    on: date,
    sites: dict[int, HiringSite],
    state: FileState,
) -> Checked:
    """Check one chunk's rows without writing (the validation pass of a job that asks)."""
    return judge_rows(
        clean_rows(rows, employer=employer, on=on, sites=sites),
        employer=employer,
        on=on,
        state=state,
    )


def judge_rows(
    prepared: Prepared,
    *,
    employer: Employer,
    on: date,
    state: FileState,
    lock: Callable[[list[Cleaned]], None] | None = None,
) -> Checked:
    """The rules that ask the database (row seen before, case id taken, duplicates), a chunk at a
    time; good rows are claimed in `state` for the rows after them.

    `lock` is called with the chunk's cleaned rows before the database is asked about them, so
    that writers of the same people wait for each other, as a single submit locks its worker
    before it looks for earlier cases.
    """
    out = Checked(errors=list(prepared.errors), bad_lines=prepared.bad_lines)
    firsts = prepared.cleaned
    if lock is not None:
        lock(firsts)
    seen, taken, prior = _db_facts(
        employer,
        [c.import_key for c in firsts],
        sorted({c.clean.values["employer_case_id"] for c in firsts} - {""}),
        sorted({c.ssn_bidx for c in firsts}),
    )
    errors: dict[str, list[str]]
    for line, clean, key, ssn_bidx in ((c.line, c.clean, c.import_key, c.ssn_bidx) for c in firsts):
        if key in seen or key in state.keys:
            out.already += 1
            continue
        case_id = clean.values["employer_case_id"]
        errors = {}
        if case_id and case_id in taken:
            errors["employer_case_id"] = ["Already used by another case."]
        elif case_id and case_id in state.case_ids:
            errors["employer_case_id"] = [
                f"Line {state.case_ids[case_id]} of this file uses this employer case id."
            ]
        earlier = prior.get(ssn_bidx)
        if ssn_bidx in state.ssns:
            earlier = PriorCase(0, timezone.now(), line=state.ssns[ssn_bidx])
        try:
            business_checks(clean, on=on, earlier=earlier)
        except ValidationFailed as exc:
            for name, messages in (exc.field_errors or {}).items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            out.errors += [(line, f, m) for f, ms in errors.items() for m in ms]
            out.bad_lines += 1
            continue
        state.keys.add(key)
        state.ssns.setdefault(ssn_bidx, line)
        if case_id:
            state.case_ids[case_id] = line
        dup = (
            earlier.pk
            if earlier is not None and earlier.pk and clean.values["duplicate_reason"]
            else None
        )
        out.good.append(Good(line, clean, ssn_bidx, key, dup))
    out.errors.sort(key=lambda e: e[0])  # by line (stable: a row's fields keep their order)
    return out
