"""Creating and submitting a verification case: validation, duplicate and lock checks, idempotency, the instant result.

Every rule of a submission lives here once: the API, the screens and the commands call
`case_create` / `case_submit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.services import event_pending, event_record, event_write_failed, event_written
from core.calendar import add_working_days
from core.errors import Conflict, ValidationFailed
from core.inserts import insert_many, insert_one, insert_one_from, insert_with_many, inserted
from core.prepared import execute_prepared
from verification import submitted
from verification.identifiers import allocate_ids, bidx, reveal, seal
from verification.instant import (
    NUMIDENT_BY_SSN,
    InstantResult,
    KnownNumident,
    Lookup,
    Submitted,
    instant_result,
)
from verification.lifecycle import require
from verification.models import (
    CaseComparison,
    ClosureCode,
    Employer,
    EmployerApiKey,
    EmployerStatus,
    IdempotencyRecord,
    LateReason,
    VerificationCase,
    Worker,
)
from verification.services.case_common import (
    S,
    _actor_user,
    _close,
    _lock,
    _set_status,
    _subjects,
    today,
)
from verification.services.cleaning import (
    IDENTIFIER_FIELDS,
    CleanCase,
    clean_case,
)
from verification.webhooks import outbox


@dataclass(frozen=True)
class PriorCase:
    """The latest earlier case of the same SSN at the same employer inside the duplicate window."""

    pk: int
    created_at: Any
    line: int = 0  # in a bulk import, the earlier line of the same file (pk is then 0)


# One round trip for the look-ups that need the worker's lock first: is the employer's own case
# id taken, and the latest earlier case of this SSN within the duplicate window. Each arm uses
# its own index (the partial unique (employer, employer_case_id), and ssn_bidx). A submit (not a
# draft) reads the SSN's current Numident record in the same statement, with the instant match's
# own query (`instant.NUMIDENT_BY_SSN`).
_PRIOR_SELECT = """
SELECT (SELECT true FROM verification_verificationcase
         WHERE %s <> '' AND employer_id = %s AND employer_case_id = %s
           AND employer_case_id <> '' LIMIT 1),
       d.id, d.created_at{numident_columns}
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id, created_at FROM verification_verificationcase
    WHERE employer_id = %s AND ssn_bidx = %s AND created_at >= %s
      AND closure_code <> %s
    ORDER BY id DESC LIMIT 1
) AS d ON true{numident_join}
"""
_PRIOR_SQL: dict[bool, tuple[str, list[Any], int]] = {}


def _prior_sql(with_numident: bool) -> tuple[str, list[Any], int]:
    """The statement, the Numident query's own parameters and the slot of the SSN's among them."""
    built = _PRIOR_SQL.get(with_numident)
    if built is None:
        if with_numident:
            numident_sql, params, slot = NUMIDENT_BY_SSN.template()
            # The current reference loads too: the identity findings carry them (crossref.instant).
            columns = ", (SELECT json_object_agg(source, id) FROM verification_referenceload"
            columns += " WHERE status = 'current')"
            columns += "".join(f", n.{a}" for a in NUMIDENT_BY_SSN.attnames)
            join = f"\nLEFT JOIN LATERAL ({numident_sql}) AS n ON true"
            built = (
                _PRIOR_SELECT.format(numident_columns=columns, numident_join=join),
                params,
                slot,
            )
        else:
            built = (_PRIOR_SELECT.format(numident_columns="", numident_join=""), [], -1)
        _PRIOR_SQL[with_numident] = built
    return built


def _prior(
    *, employer: Employer, ssn_bidx: str, case_id: str, with_numident: bool = False
) -> tuple[bool, PriorCase | None, Lookup | None]:
    """Whether the employer case id is taken, and the earlier case a new one would duplicate;
    `with_numident`, also the instant match's look-up with the SSN's Numident record (and the
    current reference loads) read."""
    since = timezone.now() - timedelta(days=settings.VERIFICATION_DUPLICATE_WINDOW_DAYS)
    sql, numident_params, slot = _prior_sql(with_numident)
    params: list[Any] = [case_id, employer.pk, case_id]
    params += [employer.pk, ssn_bidx, since, ClosureCode.DUPLICATE]
    if with_numident:
        numident_params = list(numident_params)
        numident_params[slot] = ssn_bidx
        params += numident_params
    # Planned once per session (planning this statement costs three times running it); only the
    # case id, employer, SSN and window vary, the rest of its values stay literals of the plan.
    variable = {0, 1, 2, 3, 4, 5} | ({7 + slot} if with_numident else set())
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            name=f"vcase_prior_{int(with_numident)}",
            sql=sql,
            params=params,
            variable=variable,
        )
        row = cursor.fetchone()
    taken, pk, created_at = row[:3]
    lookup = None
    if with_numident:
        record = NUMIDENT_BY_SSN.instance(row[4:] if row[4] is not None else None)
        lookup = KnownNumident(ssn_bidx, record, loads=row[3] or {})
    return bool(taken), (PriorCase(pk, created_at) if pk is not None else None), lookup


def business_checks(clean: CleanCase, *, on: date, earlier: PriorCase | None) -> None:
    """Late creation and duplicates (DOMAIN.md §1): each needs a coded reason to continue."""
    values, errors = clean.values, {}
    deadline = add_working_days(values["hire_date"], settings.VERIFICATION_LATE_AFTER_WORKING_DAYS)
    if on > deadline and not values["late_reason"]:
        errors["late_reason"] = [
            f"The case is created after the 3rd business day after the hire date ({deadline.isoformat()}); "
            f"give a late reason ({', '.join(LateReason.values)})."
        ]
    if earlier is not None and not values["duplicate_reason"]:
        errors["duplicate_reason"] = [
            f"Line {earlier.line} of this file is a case for this SSN; give a duplicate reason to continue."
            if earlier.line
            else f"Case {earlier.pk} for this SSN was created on {timezone.localdate(earlier.created_at).isoformat()}, "
            f"within {settings.VERIFICATION_DUPLICATE_WINDOW_DAYS} days; give a duplicate reason to continue."
        ]
    if errors:
        raise ValidationFailed("The case needs a coded reason.", field_errors=errors)


def _worker_locked(
    *, employer: Employer, ssn_bidx: str, ids: dict[str, str], values: dict[str, Any]
) -> Worker:
    """The employer's worker with this SSN, created if new, and row-locked in one statement.

    The lock serializes concurrent submits for one SSN at one employer, so the duplicate check
    that follows sees every earlier case.
    """
    worker = _worker(employer=employer, ssn_bidx=ssn_bidx, ids=ids, values=values)
    # ON CONFLICT DO UPDATE returns the id of the existing row and locks it (the statement
    # bulk_create(update_conflicts=True) writes, built once).
    insert_one(worker, suffix=_WORKER_CONFLICT)
    return worker


def _worker(
    *, employer: Employer, ssn_bidx: str, ids: dict[str, str], values: dict[str, Any]
) -> Worker:
    return Worker(
        employer=employer,
        ssn_bidx=ssn_bidx,
        ssn_last4=ids["ssn"][-4:],
        first_name=values["first_name"],
        last_name=values["last_name"],
        date_of_birth=values["date_of_birth"],
        email=values["employee_email"],
    )


_WORKER_CONFLICT = (
    'ON CONFLICT ("employer_id", "ssn_bidx") DO UPDATE SET "updated_at" = EXCLUDED."updated_at"'
)


# Claims an Idempotency-Key and takes the new case's id from its sequence in one statement. A
# concurrent twin with the same key waits on the unique index until this transaction ends, then
# finds the record (replay) or, if this one rolled back, claims the key itself. The case id
# refers to a case inserted later in the transaction (the foreign key is deferred).
_CLAIM_SQL = """
INSERT INTO verification_idempotencyrecord (employer_id, key, request_hash, case_id, created_at)
VALUES (%s, %s, %s, nextval(pg_get_serial_sequence('verification_verificationcase', 'id')), %s)
ON CONFLICT (employer_id, key) DO NOTHING
RETURNING case_id
"""

# The claim and the worker's upsert in one statement: the worker row is inserted (or locked) only
# if the key was claimed, exactly as the two statements one after the other. The duplicate check
# that needs the worker's lock stays a statement of its own, so it reads what committed before.
_CLAIM_WITH_WORKER = """
WITH claim AS ({claim}), worker AS ({worker})
SELECT claim.case_id, worker.id FROM claim, worker
"""


def _claim(
    *, employer: Employer, key: str, request_hash: str, worker: Worker | None = None
) -> int | VerificationCase:
    """The id the new case takes, or the case an earlier submit with this key created.

    With `worker` (not yet written), a new claim also writes and locks it as `_worker_locked`
    does, in the same statement (one round trip less); a replay writes no worker.
    """
    params: list[Any] = [employer.pk, key, request_hash, timezone.now()]
    if worker is None:
        sql = _CLAIM_SQL
    else:
        worker_sql, worker_params = insert_one_from(worker, source="claim", suffix=_WORKER_CONFLICT)
        sql = _CLAIM_WITH_WORKER.format(claim=_CLAIM_SQL, worker=worker_sql)
        params += worker_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is not None:
        if worker is not None:
            inserted(worker, row[1])
        return int(row[0])
    record = (
        IdempotencyRecord.objects.filter(employer=employer, key=key)
        .only("request_hash", "case_id")
        .get()
    )
    if record.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            field_errors={"Idempotency-Key": ["Already used with another body."]},
        )
    case = VerificationCase.objects.select_related("hiring_site").get(
        pk=record.case_id, employer=employer
    )
    case.replayed = True
    return case


@transaction.atomic
def case_create(
    *,
    actor: Any,
    employer: Employer,
    data: dict[str, Any],
    submit: bool = True,
    idempotency_key: str = "",
    request_hash: str = "",
    resubmission_of_id: int | None = None,
) -> VerificationCase:
    """Create a case from I-9 data (validated) and, unless a draft, give it its instant result at once.

    With `idempotency_key`, a retry of the same request returns the case the first one created
    (marked `replayed`), and the same key with another `request_hash` is a Conflict.
    `resubmission_of_id` links the case it replaces (`services.resubmit.case_resubmit`).
    """
    if employer.status != EmployerStatus.ACTIVE:
        raise ValidationFailed("The employer's E-Verify enrollment is not active.")
    on = today()
    if idempotency_key:
        # A replay answers before anything is checked again, as the first time: the data is
        # cleaned first only so that a new claim can write the worker in the same statement,
        # and its errors are raised only if the key was claimed (and the claim rolls back).
        try:
            clean: CleanCase | None = clean_case(data, employer=employer, on=on)
            invalid = None
        except ValidationFailed as exc:
            clean, invalid = None, exc
        worker = None
        if clean is not None:
            ssn_bidx = bidx(clean.identifiers["ssn"], "ssn")
            worker = _worker(
                employer=employer, ssn_bidx=ssn_bidx, ids=clean.identifiers, values=clean.values
            )
        claimed = _claim(
            employer=employer, key=idempotency_key, request_hash=request_hash, worker=worker
        )
        if isinstance(claimed, VerificationCase):
            return claimed
        if clean is None or worker is None:  # the claim is new: the data's errors now
            raise invalid or ValidationFailed("The case has invalid fields.")
        case_pk = claimed
        values, ids = clean.values, clean.identifiers
    else:
        case_pk = allocate_ids(VerificationCase)[0]
        clean = clean_case(data, employer=employer, on=on)
        values, ids = clean.values, clean.identifiers
        ssn_bidx = bidx(ids["ssn"], "ssn")
        worker = _worker_locked(employer=employer, ssn_bidx=ssn_bidx, ids=ids, values=values)
    taken, earlier, lookup = _prior(
        employer=employer,
        ssn_bidx=ssn_bidx,
        case_id=values["employer_case_id"],
        with_numident=submit,
    )
    if taken:
        raise ValidationFailed(
            "The employer case id is already used.",
            field_errors={"employer_case_id": ["Already used by another case."]},
        )
    business_checks(clean, on=on, earlier=earlier)
    case = VerificationCase(
        id=case_pk,
        employer=employer,
        worker=worker,
        submitted_by_key=actor if isinstance(actor, EmployerApiKey) else None,
        duplicate_of_id=earlier.pk if earlier is not None and values["duplicate_reason"] else None,
        resubmission_of_id=resubmission_of_id,
        **values,
    )
    for prefix in IDENTIFIER_FIELDS:
        seal(case, prefix, ids[prefix])
    created = {
        "late": bool(values["late_reason"]),
        "duplicate_of": case.duplicate_of_id,
        "resubmission_of": resubmission_of_id,
    }
    if not submit:
        case.save(force_insert=True)
        event_record(
            action="vcase.created",
            actor=_actor_user(actor),
            object_type="verification_case",
            object_id=case.pk,
            subjects=_subjects(case),
            detail=created,
        )
        return case
    # Matched before the insert, so the case is written once, with its result.
    result = instant_result(_submitted(case, ids, ssn_bidx), today=on, lookup=lookup)
    _apply_result(case, result)
    _after_result(
        actor=actor,
        case=case,
        result=result,
        before=S.DRAFT,
        detail={"created": created},
        insert_case=True,
    )
    return case


def _submitted(case: VerificationCase, ids: dict[str, str], ssn_bidx: str = "") -> Submitted:
    return Submitted(
        first_name=case.first_name,
        last_name=case.last_name,
        other_last_names=case.other_last_names,
        date_of_birth=case.date_of_birth,
        ssn=ids["ssn"],
        citizenship_status=case.citizenship_status,
        hire_date=case.hire_date,
        a_number=ids.get("a_number", ""),
        i94=ids.get("i94", ""),
        passport=ids.get("passport", ""),
        passport_country=case.passport_country,
        ssn_bidx=ssn_bidx,
    )


def _apply_result(case: VerificationCase, result: InstantResult) -> None:
    """Set the lifecycle fields an instant result implies (not saved)."""
    on, now = today(), timezone.now()
    case.submitted_at = now
    case.tnc_source = result.tnc_source
    case.name_review_requested = result.name_review
    _set_status(case, result.status, now=now)
    if result.status == S.TENTATIVE_NONCONFIRMATION:
        case.tnc_issued_on = on
        case.decision_due_on = add_working_days(on, settings.VERIFICATION_DECISION_WORKING_DAYS)
    elif result.status == S.NEEDS_MORE_TIME:
        case.nmt_due_on = add_working_days(on, settings.VERIFICATION_NMT_WORKING_DAYS)
    elif result.status == S.EMPLOYMENT_AUTHORIZED and not result.name_review:
        _close(case, ClosureCode.EA_AUTOMATIC, now=now)


def _after_result(
    *,
    actor: Any,
    case: VerificationCase,
    result: InstantResult,
    before: str,
    detail: dict[str, Any] | None = None,
    insert_case: bool = False,
) -> None:
    """Write the comparisons, the findings and the audit event of a saved instant result
    (with `insert_case`, of a new case not yet written: it is inserted with its comparisons)."""
    rows = [
        CaseComparison(
            case=case,
            source=c.source,
            field=c.result.field,
            outcome=c.result.outcome,
            submitted_value=c.result.submitted_value[:200],
            reference_value=c.result.reference_value[:200],
            score=c.result.score,
            hint=c.result.hint,
            reference_id=c.reference_id,
            created_at=case.submitted_at or timezone.now(),
        )
        for c in result.comparisons
    ]
    disagreeing = [f"{c.source}.{c.result.field}" for c in result.comparisons if c.result.disagrees]
    audit = {
        "action": "vcase.submitted",
        "actor": _actor_user(actor),
        "object_type": "verification_case",
        "object_id": case.pk,
        "subjects": _subjects(case),
        "changes": {"status": [before, case.status]},
        "detail": {
            "result": result.status,
            "tnc_source": result.tnc_source,
            "name_review": result.name_review,
            "disagreeing": disagreeing,
            **(detail or {}),
        },
    }
    if insert_case:
        # case.save(force_insert=True), bulk_create(rows) and the audit event's INSERT, in one
        # statement; the event says what event_record would, in the same transaction.
        pending = event_pending(**audit)
        try:
            event_id = insert_with_many(
                case, rows, also=(pending.sql, pending.params) if pending else None
            )
        except DatabaseError as exc:
            failed = event_write_failed(exc)
            if failed is None:
                raise
            raise failed from exc
        if pending is not None:
            event_written(pending, event_id)
    else:
        insert_many(rows)  # CaseComparison.objects.bulk_create(rows), its SQL built once
    # Readers of the returned case (the API's output) need no second query for these.
    # The filter is compiled only if a reader narrows the queryset further (as the related
    # manager's own querysets defer it): the cached rows are all a reader of the case needs.
    cached = CaseComparison.objects.all()
    cached._defer_next_filter = True  # type: ignore[attr-defined]
    cached = cached.filter(case=case)
    cached._result_cache = rows
    cached._prefetch_done = True  # type: ignore[attr-defined]
    case._prefetched_objects_cache = {"comparisons": cached}  # type: ignore[attr-defined]
    submitted.announce(case=case, result=result)
    if not insert_case:
        event_record(**audit)
    outbox.case_changed(case=case, before=before)


def _submit(*, actor: Any, case: VerificationCase, ids: dict[str, str]) -> VerificationCase:
    require(case.status, "submit")
    result = instant_result(_submitted(case, ids), today=today())
    _apply_result(case, result)
    case.save()
    _after_result(actor=actor, case=case, result=result, before=S.DRAFT)
    return case


@transaction.atomic
def case_submit(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """Submit a draft for the instant result."""
    case = _lock(case)
    require(case.status, "submit")
    ids = {prefix: reveal(case, prefix) for prefix in ("ssn", "a_number", "i94", "passport")}
    return _submit(actor=actor, case=case, ids=ids)
