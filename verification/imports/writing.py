"""Writing a chunk's good rows as cases with their instant results, set-based.

Two steps, so that the costly one runs without any lock and several runners work side by side:

- `prepare_cases` (no lock): the instant match reads SSA and DHS once for the chunk
  (`instant.BulkLookup`) and decides each case with the single submit's code; identifiers are
  sealed and the COPY lines built, but for the worker and the duplicated case.
- `write_cases` (in the caller's transaction, under `PeopleLock`: the employer's import lock and
  its workers upserted and row-locked in one statement, as a single submit locks its one worker):
  the good rows' cases and comparisons are written with COPY. Listeners of "a case was
  submitted" hear of every case whose match was not exact (the identity findings) in one call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import BooleanField, CharField, EmailField, TextField
from django.utils import timezone

from audit.history import bulk_insert
from core.arrays import date_array, text_array
from privacy import crypto
from verification import submitted
from verification.copying import copy_rows
from verification.identifiers import KINDS, allocate_ids
from verification.imports.checks import Cleaned, Good
from verification.instant import BulkLookup, InstantResult, Submitted, instant_result
from verification.matching import MATCH
from verification.models import CaseComparison, Employer, VerificationCase
from verification.services.cleaning import IDENTIFIER_FIELDS
from verification.services.submit import _apply_result
from verification.webhooks import outbox

CASE_TABLE = VerificationCase._meta.db_table
COMPARISON_TABLE = CaseComparison._meta.db_table
_FIELDS = list(VerificationCase._meta.concrete_fields)
CASE_COLUMNS = [f.column for f in _FIELDS]
COMPARISON_COLUMNS = [
    "case_id",
    "source",
    "field",
    "outcome",
    "submitted_value",
    "reference_value",
    "score",
    "hint",
    "reference_id",
    "created_at",
]
# What the instant result sets on a case (`submit._apply_result`), read back from the namespace.
_RESULT_ATTRS = (
    "submitted_at",
    "tnc_source",
    "name_review_requested",
    "status",
    "status_changed_at",
    "tnc_issued_on",
    "decision_due_on",
    "nmt_due_on",
    "result",
    "closure_code",
    "closure_text",
    "closed_at",
)


def _default(f: Any) -> Any:
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    if isinstance(f, BooleanField):
        return False
    if isinstance(f, CharField | TextField | EmailField):
        return ""
    return None


_DEFAULTS = {f.column: _default(f) for f in _FIELDS}
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """A value in COPY's text format."""
    if type(value) is str:
        # Printable text holds no tab, newline or carriage return: one scan instead of three.
        if value.isprintable() and "\\" not in value:
            return value
        return value.translate(_ESCAPE)
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value).translate(_ESCAPE)
    return str(value)


# Columns a row sets; every other column takes its default, written once as a constant suffix.
_VARYING = [
    c
    for c in CASE_COLUMNS
    if c
    in {
        "id",
        "created_at",
        "updated_at",
        "employer_id",
        "worker_id",
        "hiring_site_id",
        "submitted_by_key_id",
        "duplicate_of_id",
        "import_key",
        "first_name",
        "middle_initial",
        "last_name",
        "other_last_names",
        "employee_email",
        "date_of_birth",
        "offer_accepted_on",
        "i9_completed_on",
        "hire_date",
        "document_expires_on",
        "work_authorization_expires_on",
        "citizenship_status",
        "passport_country",
        "document_type",
        "employer_case_id",
        "late_reason",
        "late_reason_text",
        "duplicate_reason",
        "duplicate_reason_text",
        *(f"{p}_{part}" for p in IDENTIFIER_FIELDS for part in ("enc", "bidx", "last4")),
        *_RESULT_ATTRS,
    }
]
_CONSTANT = [c for c in CASE_COLUMNS if c not in _VARYING]
# The two columns known only under the lock come first; the rest of a line is built before it.
_LOCKED = ["worker_id", "duplicate_of_id"]
_PREPARED = [c for c in _VARYING if c not in _LOCKED]
# Of the prepared columns, those the instant result's outcome sets are the same for every case of
# a chunk with that outcome: their text is built once per chunk and outcome, after the row's own.
_OUTCOME = [c for c in _PREPARED if c in _RESULT_ATTRS]
_ROW = [c for c in _PREPARED if c not in _RESULT_ATTRS]
COPY_COLUMNS = _LOCKED + _ROW + _OUTCOME + _CONSTANT


_SUFFIX = "".join("\t" + _copy_value(_DEFAULTS[c]) for c in _CONSTANT) + "\n"

# Creates the workers of new SSNs and locks every one (ON CONFLICT DO UPDATE locks the existing
# row), in one statement; `xmax = 0` tells the rows this statement inserted.
_WORKERS_SQL = """
INSERT INTO verification_worker
    (employer_id, ssn_bidx, ssn_last4, first_name, last_name, date_of_birth, email, created_at, updated_at)
SELECT %s, b, l, f, n, d, e, %s, %s
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::text[]) AS t(b, l, f, n, d, e)
ORDER BY b
ON CONFLICT (employer_id, ssn_bidx) DO UPDATE SET updated_at = EXCLUDED.updated_at
RETURNING id, ssn_bidx, (xmax = 0)
"""
# The advisory lock's first key: "imports of one employer" (the second is the employer's id).
_IMPORT_LOCK = 0x564950


class PeopleLock:
    """Called with a chunk's cleaned rows before the database is asked about them (`judge_rows`).

    Until the transaction ends it holds the employer's import lock (another import's chunk of
    the same employer waits: it will see this one's cases) and the employer's worker row of each
    SSN, created if new, exactly as a single submit creates and locks its worker before it looks
    for earlier cases. So a single submit of the same SSN, new or not, waits for this chunk (or
    this chunk for it) and its duplicate check sees the other's case.
    """

    def __init__(self, employer: Employer) -> None:
        self.employer = employer
        self.workers: dict[str, int] = {}
        self.inserted: dict[str, int] = {}

    def __call__(self, cleaned: list[Cleaned]) -> None:
        first: dict[str, Cleaned] = {}
        for c in cleaned:
            first.setdefault(c.ssn_bidx, c)
        rows = list(first.values())
        now = timezone.now()
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, self.employer.pk])
            if not rows:
                return
        # No row history per new worker: the chunk's audit event names the worker of every case.
        with bulk_insert(), connection.cursor() as cur:
            cur.execute(
                _WORKERS_SQL,
                [
                    self.employer.pk,
                    now,
                    now,
                    text_array([c.ssn_bidx for c in rows]),
                    text_array([c.clean.identifiers["ssn"][-4:] for c in rows]),
                    text_array([c.clean.values["first_name"] for c in rows]),
                    text_array([c.clean.values["last_name"] for c in rows]),
                    date_array([c.clean.values["date_of_birth"] for c in rows]),
                    text_array([c.clean.values["employee_email"] or "" for c in rows]),
                ],
            )
            for pk, b, inserted in cur.fetchall():
                self.workers[b] = pk
                if inserted:
                    self.inserted[b] = pk

    def of(self, goods: list[Good]) -> list[int]:
        """The workers of these rows, each once."""
        return sorted({self.workers[g.ssn_bidx] for g in goods})

    def drop_unused(self, goods: list[Good]) -> None:
        """Delete the workers this chunk created for SSNs none of whose rows became a case."""
        used = {g.ssn_bidx for g in goods}
        unused = [pk for b, pk in self.inserted.items() if b not in used]
        if unused:
            with connection.cursor() as cur:
                cur.execute("DELETE FROM verification_worker WHERE id = ANY(%s)", [unused])


def _submitted(c: Cleaned) -> Submitted:
    v, ids = c.clean.values, c.clean.identifiers
    return Submitted(
        first_name=v["first_name"],
        last_name=v["last_name"],
        other_last_names=v["other_last_names"],
        date_of_birth=v["date_of_birth"],
        ssn=ids["ssn"],
        citizenship_status=v["citizenship_status"],
        hire_date=v["hire_date"],
        a_number=ids.get("a_number", ""),
        i94=ids.get("i94", ""),
        passport=ids.get("passport", ""),
        passport_country=v["passport_country"],
        ssn_bidx=c.ssn_bidx,
    )


@dataclass
class PreparedCase:
    """A case ready to write but for its worker and the case it duplicates (known under the lock)."""

    values: dict[str, Any]
    result: InstantResult
    tail: str  # the COPY line after worker_id and duplicate_of_id
    comparisons: list[str]


def _case_values(
    c: Cleaned,
    *,
    case_id: int,
    employer_id: int,
    result: InstantResult,
    now: datetime,
    api_key_id: int | None,
    ring: crypto.Keyring,
    key: bytes,
    memo: dict[tuple[str, str, bool], dict[str, Any]],
) -> dict[str, Any]:
    values = dict(_DEFAULTS)
    clean = dict(c.clean.values)
    site = clean.pop("hiring_site", None)
    values.update(clean)
    values.update(
        id=case_id,
        created_at=now,
        updated_at=now,
        employer_id=employer_id,
        hiring_site_id=site.pk if site is not None else None,
        submitted_by_key_id=api_key_id,
        import_key=c.import_key,
    )
    for prefix in IDENTIFIER_FIELDS:
        clear = c.clean.identifiers.get(prefix, "")
        if clear:
            values[f"{prefix}_enc"] = crypto.encrypt(
                clear, table=CASE_TABLE, column=f"{prefix}_enc", row_id=case_id, ring=ring
            )
            values[f"{prefix}_bidx"] = (
                c.ssn_bidx
                if prefix == "ssn"
                else crypto.blind_index(clear, kind=KINDS[prefix], key=key)
            )
            values[f"{prefix}_last4"] = crypto.last4(clear)
    values.update(_result_values(result, values["status"], memo))
    return values


def _result_values(
    result: InstantResult, status: str, memo: dict[tuple[str, str, bool], dict[str, Any]]
) -> dict[str, Any]:
    """What `submit._apply_result` sets on a case for this outcome: the same for every case of a
    chunk with the same status, source and name review, so worked out once per chunk."""
    key = (result.status, result.tnc_source, result.name_review)
    found = memo.get(key)
    if found is None:
        state = SimpleNamespace(status=status, result="")
        _apply_result(state, result)  # type: ignore[arg-type]  # sets plain attributes only
        found = memo[key] = {a: getattr(state, a) for a in _RESULT_ATTRS if hasattr(state, a)}
    return found


def _comparison_lines(case_id: int, at: str, result: InstantResult) -> list[str]:
    out = []
    for c in result.comparisons:
        r = c.result
        # As `_copy_value`, inline: a case has three or four comparisons of five values each.
        given, found, hint = r.submitted_value[:200], r.reference_value[:200], r.hint
        if not (given.isprintable() and "\\" not in given):
            given = given.translate(_ESCAPE)
        if not (found.isprintable() and "\\" not in found):
            found = found.translate(_ESCAPE)
        if not (hint.isprintable() and "\\" not in hint):
            hint = hint.translate(_ESCAPE)
        score = "\\N" if r.score is None else str(r.score)
        ref = "\\N" if c.reference_id is None else str(c.reference_id)
        out.append(
            f"{case_id}\t{c.source}\t{r.field}\t{r.outcome}\t{given}\t{found}\t{score}"
            f"\t{hint}\t{ref}\t{at}\n"
        )
    return out


@dataclass
class Reads:
    """What `prepare_cases` reads from the database for a chunk: case ids and reference rows."""

    ids: list[int]
    subs: list[Submitted]
    lookup: BulkLookup


def prepare_reads(cleaned: list[Cleaned]) -> Reads:
    """The database part of `prepare_cases`: the cases' ids and the reference rows they need."""
    subs = [_submitted(c) for c in cleaned]
    ids = allocate_ids(VerificationCase, len(cleaned)) if cleaned else []
    return Reads(ids, subs, BulkLookup(subs))


def prepare_cases(
    *,
    employer: Employer,
    cleaned: list[Cleaned],
    on: date,
    api_key_id: int | None = None,
    reads: Reads | None = None,
) -> dict[int, PreparedCase]:
    """The instant result, sealed identifiers and COPY lines of each cleaned row, by line.

    Nothing here needs a lock or the employer's other cases, so runners of several chunks do it
    side by side; rows the database questions then refuse cost only their unused case id.
    Given `reads` (`prepare_reads`, done beforehand), it asks the database nothing.
    """
    if not cleaned:
        return {}
    now = timezone.now()
    reads = reads or prepare_reads(cleaned)
    ids, subs, lookup = reads.ids, reads.subs, reads.lookup
    ring, key = crypto.keyring(), crypto.blind_index_key()
    memo: dict[tuple[str, str, bool], dict[str, Any]] = {}
    texts: dict[tuple[str, str, bool], str] = {}
    stamps: dict[tuple[str, str, bool], str] = {}
    now_text = _copy_value(now)
    out: dict[int, PreparedCase] = {}
    for c, case_id, sub in zip(cleaned, ids, subs, strict=True):
        result = instant_result(sub, today=on, lookup=lookup)
        values = _case_values(
            c,
            case_id=case_id,
            employer_id=employer.pk,
            result=result,
            now=now,
            api_key_id=api_key_id,
            ring=ring,
            key=key,
            memo=memo,
        )
        kind = (result.status, result.tnc_source, result.name_review)
        outcome = texts.get(kind)
        if outcome is None:
            outcome = texts[kind] = "\t".join([_copy_value(values[c]) for c in _OUTCOME])
            stamps[kind] = _copy_value(values["submitted_at"])
        # Most values are printable text that COPY takes as is: no call for them; the chunk's
        # creation time is written once.
        row = [
            v
            if type(v) is str and v.isprintable() and "\\" not in v
            else (now_text if v is now else _copy_value(v))
            for v in map(values.__getitem__, _ROW)
        ]
        tail = "\t".join(row) + "\t" + outcome + _SUFFIX
        lines = _comparison_lines(case_id, stamps[kind], result)
        out[c.line] = PreparedCase(values, result, tail, lines)
    return out


def write_cases(
    *,
    employer: Employer,
    goods: list[Good],
    prepared: dict[int, PreparedCase],
    people: PeopleLock,
) -> tuple[list[int], Counter[str]]:
    """Write the cases of `goods` (prepared beforehand) under the lock; their ids and a count by status.

    The caller records the chunk's audit event naming every case in the same transaction (the
    cases' inserts write no row history each: `audit.history.bulk_insert`).
    """
    people.drop_unused(goods)
    if not goods:
        return [], Counter()
    case_lines: list[str] = []
    comparison_lines: list[str] = []
    announced: list[tuple[VerificationCase, InstantResult]] = []
    created: list[dict[str, Any]] = []
    ids: list[int] = []
    statuses: Counter[str] = Counter()
    latest: dict[str, int] = {}  # the chunk's latest case of each SSN: a later row duplicates it
    for g in goods:
        p = prepared[g.line]
        values = p.values
        dup = g.duplicate_of
        if dup is None and g.clean.values["duplicate_reason"] and g.ssn_bidx in latest:
            dup = latest[g.ssn_bidx]
        latest[g.ssn_bidx] = values["id"]
        values["worker_id"], values["duplicate_of_id"] = people.workers[g.ssn_bidx], dup
        ids.append(values["id"])
        statuses[values["status"]] += 1
        created.append(values)
        case_lines.append(f"{values['worker_id']}\t{_copy_value(dup)}\t{p.tail}")
        comparison_lines += p.comparisons
        if not all(c.result.outcome == MATCH for c in p.result.comparisons):
            announced.append((_case_of(values), p.result))
    # No row history per case: the chunk's audit event, in this transaction, names every case.
    with bulk_insert():
        copy_rows(CASE_TABLE, COPY_COLUMNS, case_lines)
    copy_rows(COMPARISON_TABLE, COMPARISON_COLUMNS, comparison_lines)
    submitted.announce_many(announced)
    # Employers' systems hear of imported cases as of single submissions (signed webhooks).
    outbox.cases_created(employer_id=employer.pk, cases=(_case_of(v) for v in created))
    return ids, statuses


def _case_of(values: dict[str, Any]) -> VerificationCase:
    """The model instance of a case row written by COPY (not read back)."""
    case = VerificationCase(**{f.attname: values[f.column] for f in _FIELDS})
    case._state.adding = False
    return case
