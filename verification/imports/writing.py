"""Writing a chunk's good rows as cases with their instant results, set-based.

In the caller's transaction: the workers are upserted and row-locked in one statement (as a
single submit locks its one worker), the instant match reads SSA and DHS once for the chunk
(`instant.BulkLookup`) and decides each case with the single submit's code, and the cases and
their comparisons are written with COPY. Listeners of "a case was submitted" hear of every case
whose match was not exact (the identity findings), as after a single submit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from django.db import connection
from django.db.models import BooleanField, CharField, EmailField, TextField
from django.utils import timezone

from privacy import crypto
from verification import submitted
from verification.copying import copy_rows
from verification.identifiers import KINDS, allocate_ids
from verification.imports.checks import Good
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
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPE)
        return value
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
COPY_COLUMNS = _VARYING + _CONSTANT


_SUFFIX = "".join("\t" + _copy_value(_DEFAULTS[c]) for c in _CONSTANT) + "\n"

_WORKERS_SQL = """
INSERT INTO verification_worker
    (employer_id, ssn_bidx, ssn_last4, first_name, last_name, date_of_birth, email, created_at, updated_at)
SELECT %s, b, l, f, n, d, e, %s, %s
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::text[]) AS t(b, l, f, n, d, e)
ON CONFLICT (employer_id, ssn_bidx) DO UPDATE SET updated_at = EXCLUDED.updated_at
RETURNING id, ssn_bidx
"""


_LOCK_SQL = """
SELECT pg_advisory_xact_lock(%s, %s);
SELECT count(*) FROM (SELECT id FROM verification_worker
    WHERE employer_id = %s AND ssn_bidx = ANY(%s) ORDER BY id FOR UPDATE) AS w;
"""
# The advisory lock's first key: "imports of one employer" (the second is the employer's id).
_IMPORT_LOCK = 0x564950


def lock_people(employer: Employer, ssn_bidxs: list[str]) -> None:
    """Until the transaction ends, hold the employer's import lock (another import's chunk of the
    same employer waits: it will see this one's cases) and the rows of the employer's workers of
    these SSNs (a single submit of one of them waits, as it locks its worker the same way)."""
    with connection.cursor() as cur:
        cur.execute(_LOCK_SQL, [_IMPORT_LOCK, employer.pk, employer.pk, ssn_bidxs])


def _workers(employer: Employer, goods: list[Good], now: datetime) -> dict[str, int]:
    """The employer's worker of each SSN, created if new and row-locked, in one statement."""
    first: dict[str, Good] = {}
    for g in goods:
        first.setdefault(g.ssn_bidx, g)
    rows = list(first.values())
    with connection.cursor() as cur:
        cur.execute(
            _WORKERS_SQL,
            [
                employer.pk,
                now,
                now,
                [g.ssn_bidx for g in rows],
                [g.clean.identifiers["ssn"][-4:] for g in rows],
                [g.clean.values["first_name"] for g in rows],
                [g.clean.values["last_name"] for g in rows],
                [g.clean.values["date_of_birth"] for g in rows],
                [g.clean.values["employee_email"] or "" for g in rows],
            ],
        )
        return {b: pk for pk, b in cur.fetchall()}


def _submitted(g: Good) -> Submitted:
    v, ids = g.clean.values, g.clean.identifiers
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
    )


def _case_values(
    g: Good,
    *,
    case_id: int,
    employer: Employer,
    worker_id: int,
    result: InstantResult,
    now: datetime,
    api_key_id: int | None,
) -> dict[str, Any]:
    values = dict(_DEFAULTS)
    clean = dict(g.clean.values)
    site = clean.pop("hiring_site", None)
    values.update(clean)
    values.update(
        id=case_id,
        created_at=now,
        updated_at=now,
        employer_id=employer.pk,
        worker_id=worker_id,
        hiring_site_id=site.pk if site is not None else None,
        submitted_by_key_id=api_key_id,
        duplicate_of_id=g.duplicate_of,
        import_key=g.import_key,
    )
    ring, key = crypto.keyring(), crypto.blind_index_key()
    for prefix in IDENTIFIER_FIELDS:
        clear = g.clean.identifiers.get(prefix, "")
        if clear:
            values[f"{prefix}_enc"] = crypto.encrypt(
                clear, table=CASE_TABLE, column=f"{prefix}_enc", row_id=case_id, ring=ring
            )
            values[f"{prefix}_bidx"] = (
                g.ssn_bidx
                if prefix == "ssn"
                else crypto.blind_index(clear, kind=KINDS[prefix], key=key)
            )
            values[f"{prefix}_last4"] = crypto.last4(clear)
    state = SimpleNamespace(status=values["status"], result="")
    _apply_result(state, result)  # type: ignore[arg-type]  # sets plain attributes only
    for attr in _RESULT_ATTRS:
        if hasattr(state, attr):
            values[attr] = getattr(state, attr)
    return values


def write_cases(
    *, employer: Employer, goods: list[Good], on: date, api_key_id: int | None = None
) -> tuple[list[int], Counter[str]]:
    """Create the cases of `goods` with their instant results; their ids and a count by status."""
    if not goods:
        return [], Counter()
    now = timezone.now()
    workers = _workers(employer, goods, now)
    ids = allocate_ids(VerificationCase, len(goods))
    subs = [_submitted(g) for g in goods]
    lookup = BulkLookup(subs)
    results = [instant_result(s, today=on, lookup=lookup) for s in subs]
    case_lines, comparison_lines, announced = [], [], []
    created: list[dict[str, Any]] = []
    statuses: Counter[str] = Counter()
    latest: dict[str, int] = {}  # the chunk's latest case of each SSN: a later row duplicates it
    for g, case_id, result in zip(goods, ids, results, strict=True):
        if g.duplicate_of is None and g.clean.values["duplicate_reason"] and g.ssn_bidx in latest:
            g = replace(g, duplicate_of=latest[g.ssn_bidx])
        latest[g.ssn_bidx] = case_id
        values = _case_values(
            g,
            case_id=case_id,
            employer=employer,
            worker_id=workers[g.ssn_bidx],
            result=result,
            now=now,
            api_key_id=api_key_id,
        )
        statuses[values["status"]] += 1
        created.append(values)
        case_lines.append("\t".join([_copy_value(values[c]) for c in _VARYING]) + _SUFFIX)
        at = _copy_value(values["submitted_at"])
        for c in result.comparisons:
            r = c.result
            comparison_lines.append(
                "\t".join(
                    (
                        str(case_id),
                        c.source,
                        r.field,
                        r.outcome,
                        _copy_value(r.submitted_value[:200]),
                        _copy_value(r.reference_value[:200]),
                        _copy_value(r.score),
                        _copy_value(r.hint),
                        _copy_value(c.reference_id),
                        at,
                    )
                )
                + "\n"
            )
        if not all(c.result.outcome == MATCH for c in result.comparisons):
            announced.append((values, result))
    copy_rows(CASE_TABLE, COPY_COLUMNS, case_lines)
    copy_rows(COMPARISON_TABLE, COMPARISON_COLUMNS, comparison_lines)
    for values, result in announced:
        submitted.announce(case=_case_of(values), result=result)
    # Employers' systems hear of imported cases as of single submissions (signed webhooks).
    outbox.cases_created(employer_id=employer.pk, cases=(_case_of(v) for v in created))
    return ids, statuses


def _case_of(values: dict[str, Any]) -> VerificationCase:
    """The model instance of a case row written by COPY (not read back)."""
    case = VerificationCase(**{f.attname: values[f.column] for f in _FIELDS})
    case._state.adding = False
    return case
