"""Reads about cases (STYLE.md rule 3): a case's page, related cases, assignment choices; the queue
and the dashboards live in `cases.queue` and `cases.dashboards` and are re-exported here.

Every read starts from `Case.objects.visible_to(user, action)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from cases.access import _member_case_ids
from cases.dashboards import AGE_BUCKETS, analyst_dashboard, rule_precision, supervisor_dashboard
from cases.explain import explanation
from cases.models import (
    FLAGGED_STAGE,
    Case,
    CaseEvent,
    CaseFinding,
    CaseStatus,
    CaseUserObjectPermission,
    Evidence,
    Notification,
    SavedView,
)
from cases.queue import (
    PAGE_SIZE,
    QUEUE_FIELDS,
    SORTS,
    QueueFilters,
    QueuePage,
    QueueRow,
    export_rows,
    queue_page,
    queue_page_sql,
    queue_queryset,
)
from core.errors import NotFound
from core.ids import parse_id
from crossref import registry
from privacy.models import User
from privacy.policy import DataCategory, decide
from verification.models import Worker


def get_case_for_user(*, user: Any, pk: int, action: str = "view") -> Case:
    """Fetch and authorize in one step: the same 404 for missing and forbidden (STYLE.md rule 5)."""
    case = (
        Case.objects.visible_to(user, action)
        .select_related(
            "routed_unit__agency",
            "owning_agency",
            "assignee",
            "case_agent",
            "supervisor",
            "verified_by",
            "proposed_by",
            "signed_off_by",
            "merged_into",
        )
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def next_case_for(*, user: Any) -> Case | None:
    """The open case assigned to me that is due first (oldest due date, then oldest)."""
    return (
        Case.objects.visible_to(user)
        .open()
        .filter(assignee_id=user.pk)
        .order_by("due_date", "id")
        .only("id")
        .first()
    )


def saved_views_for(*, user: Any) -> list[SavedView]:
    """My saved views and those shared with my unit (unit default first, then by name).

    The queue reads this on every page, so it is one fixed SQL statement, not an ORM build.
    """

    sql = f"""
        SELECT id, name, owner_id, unit_id, query, is_unit_default FROM "{SavedView._meta.db_table}"
         WHERE owner_id = %s OR (%s::bigint IS NOT NULL AND unit_id = %s)
         ORDER BY is_unit_default DESC, name ASC"""  # noqa: S608  # nosec B608 # the only interpolation is the model's table
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.unit_id, user.unit_id])
        rows = cursor.fetchall()
    return [
        SavedView(
            id=pk,
            name=name,
            owner_id=owner_id,
            unit_id=unit_id,
            query=query,
            is_unit_default=is_default,
        )
        for pk, name, owner_id, unit_id, query, is_default in rows
    ]


def unit_default_view(*, user: Any) -> SavedView | None:
    """The default view of my unit, if a supervisor set one."""
    if not user.unit_id:
        return None
    return SavedView.objects.filter(unit_id=user.unit_id, is_unit_default=True).first()


def assignable_users(*, user: Any) -> list[Any]:
    """Analysts and supervisors of my agency (assignment targets)."""

    return list(
        User.objects.filter(agency_id=user.agency_id, is_active=True)
        .filter(Q(roles__contains=["analyst"]) | Q(roles__contains=["supervisor"]))
        .only("id", "username", "first_name", "last_name", "unit_id")
        .order_by("unit_id", "last_name", "username")
    )


def assignable_choices(*, user: Any) -> list[tuple[int, str]]:
    """(id, full name or username) of the assignment targets, in `assignable_users`' order.

    Every full queue page reads this for its three assignee pickers: one fixed SQL statement.
    """

    sql = f"""
        SELECT id, first_name, last_name, username FROM "{User._meta.db_table}"
         WHERE agency_id = %s AND is_active AND roles && ARRAY['analyst', 'supervisor']::varchar(32)[]
         ORDER BY unit_id ASC, last_name ASC, username ASC"""  # noqa: S608  # nosec B608 # the only interpolation is the model's table
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.agency_id])
        rows = cursor.fetchall()
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


@dataclass
class FieldRow:
    """One compared field: submitted beside reference, and whether they disagree."""

    field: str
    source: str
    submitted: str
    reference: str
    score: float | None
    mismatch: bool
    explanation: str = ""  # the comparison level in words (cases.explain)


def _field_rows(finding: Any) -> list[FieldRow]:
    rows = []
    for item in finding.fields or []:
        score = item.get("score")
        submitted, reference = (
            str(item.get("submitted", "") or ""),
            str(item.get("reference", "") or ""),
        )
        mismatch = (
            item.get("match") is False
            or item.get("outcome") in ("mismatch", "not_found")
            or (score is not None and float(score) < settings.CASES_FIELD_MATCH_SCORE)
            or (score is None and submitted != reference)
        )
        rows.append(
            FieldRow(
                field=str(item.get("field", "")),
                source=str(item.get("source", "")),
                submitted=submitted,
                reference=reference,
                score=score,
                mismatch=bool(mismatch),
                explanation=explanation(
                    field=str(item.get("field", "")),
                    submitted=submitted,
                    reference=reference,
                    level=str(item.get("level", "") or ""),
                ),
            )
        )
    return rows


# A compared field's data category: by the source it was compared with, else by the field itself
# (field minimisation, privacy.reads). A row outside the reader's categories shows no values.
SOURCE_CATEGORIES = {
    "ssa": DataCategory.SSA_IDENTITY,
    "dhs": DataCategory.DHS_IMMIGRATION,
    "enforcement": DataCategory.ENFORCEMENT,
}
FIELD_ROW_CATEGORIES = {
    "date_of_birth": DataCategory.SSA_IDENTITY,
    "ssn": DataCategory.SSA_IDENTITY,
    "death_date": DataCategory.SSA_IDENTITY,
    "a_number": DataCategory.DHS_IMMIGRATION,
    "i94": DataCategory.DHS_IMMIGRATION,
    "passport": DataCategory.DHS_IMMIGRATION,
}
WITHHELD = "withheld (outside your agreement)"


def _minimised_rows(rows: list[FieldRow], allowed: Mapping[str, bool]) -> list[FieldRow]:
    """The reference side needs its source's category; an identifier or a date of birth needs
    its own category on both sides (the submitted value is the same person's)."""
    out = []
    for r in rows:
        source = SOURCE_CATEGORIES.get(r.source)
        own = FIELD_ROW_CATEGORIES.get(r.field)
        submitted, reference, score, why = r.submitted, r.reference, r.score, r.explanation
        if source is not None and not allowed[source]:
            reference, score, why = WITHHELD, None, ""
        if own is not None and not allowed[own]:
            submitted, reference, score, why = WITHHELD, WITHHELD, None, ""
        out.append(FieldRow(r.field, r.source, submitted, reference, score, r.mismatch, why))
    return out


@dataclass
class Step:
    """One bar of a match model's waterfall: a field's level and the evidence it added."""

    label: str
    level: str
    weight: float
    left: float  # where the bar starts and how wide it is, in % of the chart
    width: float

    @property
    def direction(self) -> str:
        return "for" if self.weight > 0 else ("against" if self.weight < 0 else "none")


def waterfall(finding: Any) -> dict[str, Any] | None:
    """A match-model finding's evidence as a waterfall: from the prior, each field's weight in turn,
    to the log-odds and the match probability (None for findings of other rules)."""
    evidence = finding.evidence or {}
    items = [i for i in finding.fields or [] if "weight" in i]
    if not items or "prior_weight" not in evidence:
        return None
    position = float(evidence["prior_weight"])
    marks = [position]
    raw = []
    for item in items:
        weight = float(item["weight"])
        raw.append((str(item.get("label") or item["field"]), str(item["level"]), weight, position))
        position += weight
        marks.append(position)
    low, high = min([*marks, 0.0]), max([*marks, 0.0])
    span = max(high - low, 1e-9)

    def pct(x: float) -> float:
        return round(100.0 * (x - low) / span, 2)

    steps = [
        Step(
            label,
            level,
            weight,
            pct(min(start, start + weight)),
            round(100 * abs(weight) / span, 2),
        )
        for label, level, weight, start in raw
    ]
    return {
        "prior": round(float(evidence["prior_weight"]), 2),
        "prior_at": pct(float(evidence["prior_weight"])),
        "steps": steps,
        "log_odds": round(position, 2),
        "zero_at": pct(0.0),
        "probability": float(evidence.get("match_probability", finding.score)),
        "model": evidence.get("model") or {},
        "thresholds": evidence.get("thresholds") or {},
    }


def case_findings(*, case: Case, user: Any = None) -> list[dict[str, Any]]:
    """The findings behind a case with their field rows and rule explanation.

    With `user`, the rows of data categories the user may not view show no values.
    """
    allowed: dict[str, bool] = {
        str(c): user is None or decide(user, action="view", category=c).allowed
        for c in (DataCategory.SSA_IDENTITY, DataCategory.DHS_IMMIGRATION, DataCategory.ENFORCEMENT)
    }

    links = list(
        CaseFinding.objects.filter(case=case).select_related("finding").order_by("added_at", "id")
    )
    out = []
    for link in links:
        f = link.finding
        try:
            rule = registry.get(f.rule_code, f.rule_version)
            title, description = rule.title, rule.description
        except KeyError:
            title, description = f.rule_code, ""
        out.append(
            {
                "finding": f,
                "is_new": link.is_new,
                "rule_title": title,
                "rule_description": description,
                "rows": _minimised_rows(_field_rows(f), allowed),
                "waterfall": waterfall(f) if allowed[DataCategory.ENFORCEMENT] else None,
            }
        )
    return out


def categories_shown(rows: list[FieldRow]) -> set[str]:
    """The categories of the reference data that (minimised) `rows` show: SSA's and DHS's values,
    by the source each was compared with; a withheld or missing value shows nothing."""
    return {
        SOURCE_CATEGORIES[r.source]
        for r in rows
        if r.source in SOURCE_CATEGORIES and r.reference not in ("", WITHHELD)
    }


def categories_refused(*, user: Any, findings: list[dict[str, Any]]) -> list[str]:
    """The reference categories the (unminimised) `findings` show that `user` may not view, sorted."""
    shown: set[str] = set()
    for item in findings:
        shown |= categories_shown(item["rows"])
    return sorted(c for c in shown if not decide(user, action="view", category=c).allowed)


def notice_findings(*, case: Case, notice: Evidence) -> list[dict[str, Any]]:
    """The findings as the printed notice `notice` shows them (cases/notice_document.html): those
    the case had when it was generated, each with its disagreeing rows only."""
    linked = set(
        CaseFinding.objects.filter(case=case, added_at__lte=notice.created_at).values_list(
            "finding_id", flat=True
        )
    )
    return [
        {**item, "rows": [r for r in item["rows"] if r.mismatch]}
        for item in case_findings(case=case)
        if item["finding"].pk in linked
    ]


def related_cases(*, user: Any, case: Case, limit: int = 20) -> list[Case]:
    """Other cases about the same person (SSN blind index) or the same employer, that I may see."""
    q = Q(subject_key=case.subject_key)
    if case.employer_ref:
        q |= Q(employer_ref=case.employer_ref)
    return list(
        Case.objects.visible_to(user)
        .filter(q)
        .exclude(pk=case.pk)
        .only(
            "id",
            "number",
            "status",
            "closure",
            "subject_name",
            "subject_last4",
            "employer_name",
            "subject_kind",
            "worker_ref",
            "employer_ref",
            "subject_key",
            "owning_agency_id",
            "created_at",
        )
        .order_by("-created_at")[:limit]
    )


def case_timeline(*, case: Case) -> list[CaseEvent]:
    """The case's timeline, oldest first."""
    return list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id"))


def case_evidence(*, case: Case) -> list[Evidence]:
    """The case's evidence with its custody chain."""
    return list(
        Evidence.objects.filter(case=case)
        .select_related("added_by")
        .prefetch_related("custody__actor")
    )


def linked_verification_case_ids(*, case: Case) -> list[int]:
    """Verification cases behind the case's findings."""
    return sorted(
        {
            i
            for i in CaseFinding.objects.filter(case=case).values_list(
                "finding__case_id", flat=True
            )
            if i
        }
    )


def get_evidence_for_user(*, user: Any, pk: int) -> Evidence:
    """Evidence of a case the user may see; 404 otherwise."""
    evidence = (
        Evidence.objects.filter(pk=pk, case__in=Case.objects.visible_to(user))
        .select_related("case")
        .first()
    )
    if evidence is None:
        raise NotFound("No such evidence.")
    return evidence


def investigations_for(*, user: Any, include_closed: bool = False) -> list[Case]:
    """Investigations I am a member of (or may see), most urgent first."""
    qs = Case.objects.visible_to(user).exclude(status__in=FLAGGED_STAGE)
    if not include_closed:
        qs = qs.exclude(status=CaseStatus.CLOSED)
    return list(
        qs.select_related("case_agent", "supervisor").order_by("priority", "due_date", "id")[:200]
    )


def unread_notifications(*, user: Any, limit: int = 20) -> list[Notification]:
    """My unread notifications, newest first."""
    return list(
        Notification.objects.filter(user=user, read_at__isnull=True).select_related("case")[:limit]
    )


def audit_assigned_subjects(*, user_id: int, subjects: set[str]) -> set[str]:
    """The subset of `subjects` this user is assigned to now: the audit's "outside assignments" rule.

    Assigned means a member of the case (guardian permission), its assignee or agent, or an
    analyst of the unit an untriaged flagged case is routed to.
    """

    user = get_user_model().objects.filter(pk=user_id).only("id", "unit_id").first()
    if user is None or not subjects:
        return set()

    mine = (
        Q(pk__in=_member_case_ids(user, "view_case"))
        | Q(assignee_id=user_id)
        | Q(case_agent_id=user_id)
    )
    if user.unit_id:
        mine |= Q(routed_unit_id=user.unit_id, opened_at__isnull=True)
    # Verification pages name a person by worker id; a case names them by SSN blind index.

    worker_ids = {
        n
        for s in subjects
        if s.startswith("worker:") and (n := parse_id(s.split(":", 1)[1])) is not None
    }
    worker_keys = {
        f"worker:{pk}": f"ssn:{bidx}"
        for pk, bidx in Worker.objects.filter(pk__in=worker_ids).values_list("pk", "ssn_bidx")
    }
    keys = {worker_keys.get(s, s)[:80] for s in subjects}
    found = set(
        Case.objects.filter(mine, subject_key__in=keys).values_list("subject_key", flat=True)
    )
    return {s for s in subjects if worker_keys.get(s, s)[:80] in found}


def case_members(case: Case) -> list[Any]:
    """Users holding view permission on the case (its need-to-know members)."""
    rows = CaseUserObjectPermission.objects.filter(
        content_object=case, permission__codename="view_case"
    ).select_related("user")
    return [r.user for r in rows]


__all__ = [
    "AGE_BUCKETS",
    "PAGE_SIZE",
    "QUEUE_FIELDS",
    "SORTS",
    "FieldRow",
    "QueueFilters",
    "QueuePage",
    "QueueRow",
    "analyst_dashboard",
    "assignable_choices",
    "assignable_users",
    "audit_assigned_subjects",
    "case_evidence",
    "case_findings",
    "case_members",
    "case_timeline",
    "export_rows",
    "get_case_for_user",
    "get_evidence_for_user",
    "investigations_for",
    "linked_verification_case_ids",
    "next_case_for",
    "queue_page",
    "queue_page_sql",
    "queue_queryset",
    "related_cases",
    "rule_precision",
    "saved_views_for",
    "supervisor_dashboard",
    "unit_default_view",
    "unread_notifications",
]
