"""What the case screens share: field minimisation, the read path, errors, look-ups within the agency."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
)
from django.utils import timezone

from cases import selectors
from cases.access import _member_case_ids, allowed_agency_ids
from cases.models import (
    Case,
)
from core.errors import DomainError, NotFound
from privacy.http import AuthedRequest
from privacy.models import Unit, User
from privacy.policy import DataCategory, visible_fields
from privacy.reads import AlsoShown, ReadKind, Shown, personal_data_shown
from privacy.selectors import break_glass_active
from privacy.services import break_glass_use

# Fields of the queue and case page by data category (field minimisation for partner agencies).
REFERENCE_CATEGORIES = (DataCategory.SSA_IDENTITY, DataCategory.DHS_IMMIGRATION)
FIELD_CATEGORIES = {
    "subject_name": DataCategory.VERIFICATION_CASES,
    "subject_last4": DataCategory.SSA_IDENTITY,  # the last four of the SSN
    "employer_name": DataCategory.EMPLOYER_DATA,
}


def _today():
    return timezone.localdate()


def _require_case_work(user: Any) -> None:
    """Roles without case work (auditors, admins, verifiers) get 403, not an empty queue."""
    if not allowed_agency_ids(user, "view"):
        raise PermissionDenied("No case work for this role.")


def _visible_fields(user: Any, agency_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    out = {}
    for agency_id in set(agency_ids):
        # The case's own data belongs to its owning agency; SSA and DHS data to SSA and DHS.
        owners: dict[str, int] = {
            str(c): agency_id for c in FIELD_CATEGORIES.values() if c not in REFERENCE_CATEGORIES
        }
        visible = visible_fields(user, dict(FIELD_CATEGORIES), owners=owners)
        assert not isinstance(visible, bool)  # a map of fields in, a set of fields out
        out[agency_id] = frozenset(visible)
    return out


def _rows(user: Any, cases: list[Case]) -> list[dict[str, Any]]:
    visible = _visible_fields(user, (c.owning_agency_id for c in cases))
    return [{"case": c, "fields": visible[c.owning_agency_id]} for c in cases]


def _read_kind(action: str, **extra: Any) -> ReadKind:
    return ReadKind(
        action=action,
        object_type="case",
        record_type="cases.case",
        category=DataCategory.INVESTIGATIONS,
        extra=extra,
    )


def _shown(
    request: AuthedRequest,
    action: str,
    cases: Iterable[Any],
    *,
    findings: Iterable[Mapping[str, Any]] = (),
    **detail: Any,
) -> None:
    """One audit event naming everyone on the page, plus the accounting of disclosures: of the
    cases to their owning agencies, of the reference values among `findings` (the first case's,
    as `selectors.case_findings` gives them) to SSA and DHS."""
    cases = list(cases)
    single = action == "cases.case_viewed" and cases
    personal_data_shown(
        reader=request.user,
        kind=_read_kind(action),
        records=[Shown(c.pk, c.subject_ref, c.owning_agency_id) for c in cases],
        also=_reference_shown(cases[0], findings) if cases else [],
        case_id=cases[0].pk if single else None,
        object_id=cases[0].pk if single else "",
        detail={"cases": [c.pk for c in cases], **detail},
    )


# What the reference values of a finding are accounted under: the finding that shows them.
FINDING_RECORD = "crossref.finding"


def _reference_shown(case: Case, findings: Iterable[Mapping[str, Any]]) -> list[AlsoShown]:
    """SSA's and DHS's values among the findings' rows, as data of SSA and DHS (their categories'
    owners) about the person each finding is about."""
    by_category: dict[str, list[Shown]] = {}
    for item in findings:
        finding = item["finding"]
        person = f"ssn:{finding.ssn_index}"[:80] if finding.ssn_index else case.subject_ref
        for category in selectors.categories_shown(item["rows"]):
            by_category.setdefault(category, []).append(Shown(finding.pk, person))
    return [AlsoShown(c, FINDING_RECORD, shown) for c, shown in sorted(by_category.items())]


def _error(request: AuthedRequest, exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    messages.error(request, exc.message or "That could not be done.")
    for field_name, errs in exc.field_errors.items():
        for e in errs:
            messages.error(request, f"{field_name}: {e}")


def _agency_user(request: AuthedRequest, pk: int | None) -> User:
    user = (
        User.objects.filter(pk=pk, agency_id=request.user.agency_id, is_active=True).first()
        if pk and request.user.agency_id
        else None
    )
    if user is None:
        raise NotFound("No such colleague.")
    return user


def _break_glass_use(request: AuthedRequest, case: Case) -> None:
    """A case seen only through break-glass lands in the supervisors' review (privacy)."""
    if case.opened_at is None and case.routed_unit_id == request.user.unit_id:
        return
    if case.pk not in _member_case_ids(request.user, "view_case") and break_glass_active(
        user=request.user, subject_ref=f"case:{case.pk}"
    ):
        break_glass_use(user=request.user, subject_ref=f"case:{case.pk}")


def _user_from(request: AuthedRequest, value: Any) -> User | None:
    return _agency_user(request, int(value)) if value else None


def _split(value: str) -> list[str]:
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def _unit(pk: int) -> Unit:
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None:
        raise NotFound("No such unit.")
    return unit


def _case_by_number(request: AuthedRequest, number: str) -> Case:
    case = (
        Case.objects.visible_to(request.user, "change")
        .filter(number=number.strip().upper())
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case
