"""Creating and submitting a verification case: validation, duplicate and lock checks, idempotency, the instant result.

Every rule of a submission lives here once: the API, the screens and the commands call
`case_create` / `case_submit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import event_record
from core.calendar import add_working_days
from core.errors import Conflict, ValidationFailed
from verification import submitted, validation
from verification.identifiers import allocate_ids, bidx, reveal, seal
from verification.instant import InstantResult, Submitted, instant_result
from verification.lifecycle import require
from verification.models import (
    CaseComparison,
    CitizenshipStatus,
    ClosureCode,
    DocumentType,
    DuplicateReason,
    Employer,
    EmployerApiKey,
    EmployerStatus,
    HiringSite,
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
from verification.validation import FieldInvalid
from verification.webhooks import outbox

CASE_TEXT_FIELDS = (
    "first_name",
    "middle_initial",
    "last_name",
    "other_last_names",
    "employee_email",
    "citizenship_status",
    "passport_country",
    "document_type",
    "employer_case_id",
    "late_reason",
    "late_reason_text",
    "duplicate_reason",
    "duplicate_reason_text",
)


IDENTIFIER_FIELDS = ("ssn", "a_number", "i94", "passport", "document_number")


DATE_FIELDS = (
    "date_of_birth",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "document_expires_on",
    "work_authorization_expires_on",
)


@dataclass(frozen=True)
class CleanCase:
    """Validated I-9 input: identifiers normalized, still in clear (memory only)."""

    values: dict[str, Any]
    identifiers: dict[str, str]


class _Cleaner:
    """The checks of one submission, field by field then across fields, gathering every error."""

    def __init__(self, data: dict[str, Any], *, employer: Employer, on: date) -> None:
        self.data, self.employer, self.on = data, employer, on
        self.errors: dict[str, list[str]] = {}
        self.values: dict[str, Any] = {}
        self.ids: dict[str, str] = {}

    def check(self, field: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FieldInvalid as exc:
            self.errors.setdefault(field, []).append(str(exc))
            return None

    def text(self, field: str) -> str:
        value = self.data.get(field) or ""
        if not isinstance(value, str):
            self.errors.setdefault(field, []).append("Must be text.")
            return ""
        return value

    def _names_and_dates(self) -> None:
        """The names, the dates and the rules between the dates."""
        self.values["first_name"] = self.check(
            "first_name", validation.name, self.text("first_name")
        )
        self.values["last_name"] = self.check("last_name", validation.name, self.text("last_name"))
        self.values["middle_initial"] = self.check(
            "middle_initial", validation.middle_initial, self.text("middle_initial")
        )
        self.values["other_last_names"] = self.check(
            "other_last_names", validation.other_last_names, self.text("other_last_names")
        )
        self.values["employee_email"] = self.text("employee_email")
        for field in DATE_FIELDS:
            value = self.data.get(field)
            if value is not None and not isinstance(value, date):
                self.errors.setdefault(field, []).append("Enter a date as YYYY-MM-DD.")
                value = None
            self.values[field] = value
        for field in ("date_of_birth", "offer_accepted_on", "i9_completed_on", "hire_date"):
            if self.values[field] is None and field not in self.errors:
                self.errors.setdefault(field, []).append("This date is required.")
        if self.values["date_of_birth"] and self.values["hire_date"]:
            self.check(
                "date_of_birth",
                validation.date_of_birth,
                self.values["date_of_birth"],
                hire_date=self.values["hire_date"],
                today=self.on,
            )
        if (
            self.values["offer_accepted_on"]
            and self.values["i9_completed_on"]
            and self.values["hire_date"]
        ):
            for field, messages in validation.i9_dates(
                offer_accepted_on=self.values["offer_accepted_on"],
                i9_completed_on=self.values["i9_completed_on"],
                hire_date=self.values["hire_date"],
                today=self.on,
            ).items():
                self.errors.setdefault(field, []).extend(messages)

    def _choices(self) -> None:
        """The attested status, the document type and the worker's language, from their lists."""
        status = self.text("citizenship_status")
        if status not in CitizenshipStatus.values:
            self.errors.setdefault("citizenship_status", []).append(
                f"Choose one of: {', '.join(CitizenshipStatus.values)}."
            )
        self.values["citizenship_status"] = status
        doc = self.text("document_type")
        if doc not in DocumentType.values:
            self.errors.setdefault("document_type", []).append(
                f"Choose one of: {', '.join(DocumentType.values)}."
            )
        self.values["document_type"] = doc
        self.values["preferred_language"] = self.check(
            "preferred_language", validation.language, self.text("preferred_language")
        )

    def _identifiers(self) -> None:
        """The identifiers (kept apart: they are sealed, never stored in clear)."""
        self.ids["ssn"] = self.check("ssn", validation.ssn, self.text("ssn")) or ""
        for field, fn in (
            ("a_number", validation.a_number),
            ("i94", validation.i94),
            ("passport", validation.passport),
            ("document_number", validation.document_number),
        ):
            raw = self.text(field)
            self.ids[field] = (self.check(field, fn, raw) or "") if raw else ""
        country = self.text("passport_country")
        self.values["passport_country"] = (
            (self.check("passport_country", validation.country, country) or "") if country else ""
        )

    def _status_rules(self) -> None:
        """Which identifiers the attested status needs (Form I-9 Section 1)."""
        status = self.values["citizenship_status"]
        # Which identifiers the attested status needs (Form I-9 Section 1).
        if (
            status == CitizenshipStatus.PERMANENT_RESIDENT
            and not self.ids["a_number"]
            and "a_number" not in self.errors
        ):
            self.errors.setdefault("a_number", []).append(
                "A lawful permanent resident gives the A-Number/USCIS number."
            )
        if status == CitizenshipStatus.AUTHORIZED_ALIEN:
            if (
                not (self.ids["a_number"] or self.ids["i94"] or self.ids["passport"])
                and not {"a_number", "i94", "passport"} & self.errors.keys()
            ):
                self.errors.setdefault("a_number", []).append(
                    "A noncitizen authorized to work gives an A-Number, an I-94 number, or a foreign passport and country."
                )
            if (
                self.ids["passport"]
                and not self.values["passport_country"]
                and "passport_country" not in self.errors
            ):
                self.errors.setdefault("passport_country", []).append(
                    "Give the country that issued the passport."
                )
        if status in (CitizenshipStatus.CITIZEN, CitizenshipStatus.NONCITIZEN_NATIONAL) and (
            self.ids["i94"] or self.ids["passport"]
        ):
            self.errors.setdefault("citizenship_status", []).append(
                "A citizen or national gives no I-94 or foreign passport."
            )

    def _document_rules(self) -> None:
        """The document fits the status, has its number and had not expired."""
        status, doc = self.values["citizenship_status"], self.values["document_type"]
        if (
            status in validation.DOCUMENTS_FOR_STATUS
            and doc in DocumentType.values
            and doc not in validation.DOCUMENTS_FOR_STATUS[status]
        ):
            self.errors.setdefault("document_type", []).append(
                "This document does not fit the attested status."
            )
        if (
            doc != DocumentType.LIST_B_AND_C
            and doc in DocumentType.values
            and not self.ids["document_number"]
            and "document_number" not in self.errors
        ):
            self.errors.setdefault("document_number", []).append(
                "Give the number of the List A document."
            )
        expires = self.values["document_expires_on"]
        if (
            doc in validation.EXPIRING_DOCUMENTS
            and expires is None
            and "document_expires_on" not in self.errors
        ):
            self.errors.setdefault("document_expires_on", []).append(
                "This document has an expiry date."
            )
        if expires and self.values["i9_completed_on"] and expires < self.values["i9_completed_on"]:
            self.errors.setdefault("document_expires_on", []).append(
                "The document had expired when the I-9 was completed."
            )

    def _site_and_codes(self) -> None:
        """The hiring site of this employer, the employer's case id, the coded reasons."""
        site_id = self.data.get("hiring_site")
        self.values["hiring_site"] = None
        if site_id not in (None, ""):
            site_pk = (
                int(str(site_id)) if str(site_id).isdigit() and int(str(site_id)) < 2**63 else -1
            )
            site = HiringSite.objects.filter(employer=self.employer, pk=site_pk).first()
            if site is None:
                self.errors.setdefault("hiring_site", []).append(
                    "No hiring site of this employer has this id."
                )
            self.values["hiring_site"] = site
        case_id = self.text("employer_case_id")
        if len(case_id) > 64 or (case_id and not case_id.isprintable()):
            self.errors.setdefault("employer_case_id", []).append(
                "At most 64 printable characters."
            )
        self.values["employer_case_id"] = case_id
        for code_field, choices, text_field in (
            ("late_reason", LateReason, "late_reason_text"),
            ("duplicate_reason", DuplicateReason, "duplicate_reason_text"),
        ):
            code = self.text(code_field)
            if code and code not in choices.values:
                self.errors.setdefault(code_field, []).append(
                    f"Choose one of: {', '.join(choices.values)}."
                )
            self.values[code_field] = code
            self.values[text_field] = (
                self.check(text_field, validation.free_text, self.text(text_field)) or ""
            )
            if code == "other" and not self.values[text_field] and text_field not in self.errors:
                self.errors.setdefault(text_field, []).append("Explain the reason 'other'.")


def _clean(data: dict[str, Any], *, employer: Employer, on: date) -> CleanCase:
    """Validate every I-9 field and the rules across fields; one ValidationFailed with all errors."""
    c = _Cleaner(data, employer=employer, on=on)
    c._names_and_dates()
    c._choices()
    c._identifiers()
    c._status_rules()
    c._document_rules()
    c._site_and_codes()
    if c.errors:
        raise ValidationFailed("The case has invalid fields.", field_errors=c.errors)
    return CleanCase(values=c.values, identifiers=c.ids)


@dataclass(frozen=True)
class PriorCase:
    """The latest earlier case of the same SSN at the same employer inside the duplicate window."""

    pk: int
    created_at: Any


# One round trip for both look-ups that need the worker's lock first: is the employer's own case
# id taken, and the latest earlier case of this SSN within the duplicate window. Each arm uses
# its own index (the partial unique (employer, employer_case_id), and ssn_bidx).
_PRIOR_SQL = """
SELECT (SELECT true FROM verification_verificationcase
         WHERE %(case_id)s <> '' AND employer_id = %(employer)s AND employer_case_id = %(case_id)s
           AND employer_case_id <> '' LIMIT 1),
       d.id, d.created_at
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id, created_at FROM verification_verificationcase
    WHERE employer_id = %(employer)s AND ssn_bidx = %(ssn_bidx)s AND created_at >= %(since)s
      AND closure_code <> %(duplicate)s
    ORDER BY id DESC LIMIT 1
) AS d ON true
"""


def _prior(*, employer: Employer, ssn_bidx: str, case_id: str) -> tuple[bool, PriorCase | None]:
    """Whether the employer case id is taken, and the earlier case a new one would duplicate."""
    since = timezone.now() - timedelta(days=settings.VERIFICATION_DUPLICATE_WINDOW_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            _PRIOR_SQL,
            {
                "case_id": case_id,
                "employer": employer.pk,
                "ssn_bidx": ssn_bidx,
                "since": since,
                "duplicate": ClosureCode.DUPLICATE,
            },
        )
        taken, pk, created_at = cursor.fetchone()
    return bool(taken), (PriorCase(pk, created_at) if pk is not None else None)


def _business_checks(clean: CleanCase, *, on: date, earlier: PriorCase | None) -> None:
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
            f"Case {earlier.pk} for this SSN was created on {timezone.localdate(earlier.created_at).isoformat()}, "
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
    worker = Worker(
        employer=employer,
        ssn_bidx=ssn_bidx,
        ssn_last4=ids["ssn"][-4:],
        first_name=values["first_name"],
        last_name=values["last_name"],
        date_of_birth=values["date_of_birth"],
        email=values["employee_email"],
    )
    # ON CONFLICT DO UPDATE returns the id of the existing row and locks it.
    Worker.objects.bulk_create(
        [worker],
        update_conflicts=True,
        unique_fields=["employer", "ssn_bidx"],
        update_fields=["updated_at"],
    )
    return worker


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


def _claim(*, employer: Employer, key: str, request_hash: str) -> int | VerificationCase:
    """The id the new case takes, or the case an earlier submit with this key created."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [employer.pk, key, request_hash, timezone.now()])
        row = cursor.fetchone()
    if row is not None:
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
) -> VerificationCase:
    """Create a case from I-9 data (validated) and, unless a draft, give it its instant result at once.

    With `idempotency_key`, a retry of the same request returns the case the first one created
    (marked `replayed`), and the same key with another `request_hash` is a Conflict.
    """
    if employer.status != EmployerStatus.ACTIVE:
        raise ValidationFailed("The employer's E-Verify enrollment is not active.")
    if idempotency_key:  # a replay answers before anything is checked again, as the first time
        claimed = _claim(employer=employer, key=idempotency_key, request_hash=request_hash)
        if isinstance(claimed, VerificationCase):
            return claimed
        case_pk = claimed
    else:
        case_pk = allocate_ids(VerificationCase)[0]
    on = today()
    clean = _clean(data, employer=employer, on=on)
    values, ids = clean.values, clean.identifiers
    ssn_bidx = bidx(ids["ssn"], "ssn")
    worker = _worker_locked(employer=employer, ssn_bidx=ssn_bidx, ids=ids, values=values)
    taken, earlier = _prior(
        employer=employer, ssn_bidx=ssn_bidx, case_id=values["employer_case_id"]
    )
    if taken:
        raise ValidationFailed(
            "The employer case id is already used.",
            field_errors={"employer_case_id": ["Already used by another case."]},
        )
    _business_checks(clean, on=on, earlier=earlier)
    case = VerificationCase(
        id=case_pk,
        employer=employer,
        worker=worker,
        submitted_by_key=actor if isinstance(actor, EmployerApiKey) else None,
        duplicate_of_id=earlier.pk if earlier is not None and values["duplicate_reason"] else None,
        **values,
    )
    for prefix in IDENTIFIER_FIELDS:
        seal(case, prefix, ids[prefix])
    created = {"late": bool(values["late_reason"]), "duplicate_of": case.duplicate_of_id}
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
    result = instant_result(_submitted(case, ids), today=on)
    _apply_result(case, result)
    case.save(force_insert=True)
    _after_result(
        actor=actor, case=case, result=result, before=S.DRAFT, detail={"created": created}
    )
    return case


def _submitted(case: VerificationCase, ids: dict[str, str]) -> Submitted:
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
) -> None:
    """Write the comparisons, the findings and the audit event of a saved instant result."""
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
    CaseComparison.objects.bulk_create(rows)
    # Readers of the returned case (the API's output) need no second query for these.
    cached = CaseComparison.objects.filter(case=case)
    cached._result_cache = rows
    cached._prefetch_done = True  # type: ignore[attr-defined]
    case._prefetched_objects_cache = {"comparisons": cached}  # type: ignore[attr-defined]
    submitted.announce(case=case, result=result)
    disagreeing = [f"{c.source}.{c.result.field}" for c in result.comparisons if c.result.disagrees]
    event_record(
        action="vcase.submitted",
        actor=_actor_user(actor),
        object_type="verification_case",
        object_id=case.pk,
        subjects=_subjects(case),
        changes={"status": [before, case.status]},
        detail={
            "result": result.status,
            "tnc_source": result.tnc_source,
            "name_review": result.name_review,
            "disagreeing": disagreeing,
            **(detail or {}),
        },
    )
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
