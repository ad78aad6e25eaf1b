"""Reads about cases (STYLE.md rule 3): the triage queue, a case's page, related cases, dashboards.

Every read starts from `Case.objects.visible_to(user, action)`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.http import QueryDict
from django.utils import timezone

from cases.models import (
    FLAGGED_STAGE,
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseFinding,
    CaseStatus,
    CaseUserObjectPermission,
    Closure,
    Evidence,
    Notification,
    SavedView,
    Severity,
    _member_case_ids,
    case_scope,
)
from core.errors import NotFound
from crossref import registry
from privacy.models import Agency, User
from verification.models import Worker

PAGE_SIZE = 50
SORTS = {
    # name -> (column, label)
    "priority": ("priority", "Priority"),
    "age": ("created_at", "Oldest first"),
    "due": ("due_date", "Due date"),
}
# The columns the queue shows and exports: masked identifiers only.
QUEUE_FIELDS = [
    "number",
    "status",
    "priority",
    "severity",
    "score",
    "subject_name",
    "subject_last4",
    "employer_name",
    "state",
    "rule_codes",
    "tags",
    "assignee",
    "due_date",
    "created_at",
]


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


# --- The queue -----------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    """The queue's filters, parsed from a query string (unknown or malformed values are ignored)."""

    status: list[str] = field(default_factory=lambda: list(FLAGGED_STAGE))
    rule: str = ""
    severity: list[str] = field(default_factory=list)
    score_min: float | None = None
    score_max: float | None = None
    employer: str = ""
    state: str = ""
    agency: str = ""
    assignee: str = ""
    age_min: int | None = None
    due: str = ""
    tag: str = ""
    q: str = ""
    snoozed: bool = False
    sort: str = "priority"

    @classmethod
    def from_query(cls, data: QueryDict | dict[str, Any]) -> QueueFilters:
        """Parse the GET parameters of the queue."""
        get = (
            data.getlist
            if isinstance(data, QueryDict)
            else (lambda k: [data[k]] if isinstance(data.get(k), str) else list(data.get(k) or []))
        )
        one = lambda k: (get(k) or [""])[0].strip()  # noqa: E731

        def number(k: str, kind: type) -> Any:
            try:
                return kind(one(k)) if one(k) else None
            except ValueError:
                return None

        f = cls()
        statuses = [s for s in get("status") if s in CaseStatus.values]
        if statuses:
            f.status = statuses
        f.rule = one("rule")[:64]
        f.severity = [s for s in get("severity") if s in Severity.values]
        f.score_min, f.score_max = number("score_min", float), number("score_max", float)
        f.employer = one("employer")[:100]
        f.state = one("state")[:2].upper()
        f.agency = one("agency")[:32]
        f.assignee = one("assignee")[:20]
        f.age_min = number("age_min", int)
        f.due = one("due") if one("due") in ("overdue", "today", "week") else ""
        f.tag = one("tag")[:40]
        f.q = one("q")[:100]
        f.snoozed = one("snoozed") == "1"
        f.sort = one("sort") if one("sort") in SORTS else "priority"
        return f

    def is_default(self) -> bool:
        """True when no filter narrows the default queue."""
        return self == QueueFilters(sort=self.sort)


def queue_queryset(
    *, user: Any, filters: QueueFilters, today: date, action: str = "view"
) -> QuerySet[Case]:
    """Every case matching the filters that the user may see (unordered, unpaged)."""
    qs = Case.objects.visible_to(user, action).filter(status__in=filters.status)
    if not filters.snoozed:
        qs = qs.not_snoozed(today)
    if filters.rule:
        qs = qs.filter(rule_codes__contains=[filters.rule])
    if filters.severity:
        qs = qs.filter(severity__in=filters.severity)
    if filters.score_min is not None:
        qs = qs.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        qs = qs.filter(score__lte=filters.score_max)
    if filters.employer:
        qs = (
            qs.filter(employer_ref=int(filters.employer))
            if filters.employer.isdigit()
            else qs.filter(employer_name__icontains=filters.employer)
        )
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.agency:
        qs = qs.filter(owning_agency__code=filters.agency)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.age_min is not None:
        qs = qs.filter(created_at__date__lte=today - timedelta(days=filters.age_min))
    if filters.due == "overdue":
        qs = qs.filter(due_date__lt=today)
    elif filters.due == "today":
        qs = qs.filter(due_date=today)
    elif filters.due == "week":
        qs = qs.filter(due_date__lte=today + timedelta(days=7))
    if filters.tag:
        qs = qs.filter(tags__contains=[filters.tag])
    if filters.q:
        qs = (
            qs.filter(number=filters.q.upper())
            if filters.q.upper().startswith("CC-")
            else qs.filter(subject_name__icontains=filters.q)
        )
    return qs


def _encode_cursor(value: Any, pk: int) -> str:
    raw = f"{value.isoformat() if hasattr(value, 'isoformat') else value}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value, pk = raw.rsplit("|", 1)
        if sort == "priority":
            return int(value), int(pk)
        if sort == "due":
            return date.fromisoformat(value), int(pk)
        return datetime.fromisoformat(value), int(pk)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row of the queue: plain values (no model instance, so no deferred-field machinery)."""

    pk: int
    number: str
    status: str
    priority: int
    severity: str
    score: float
    subject_name: str
    subject_last4: str
    employer_name: str
    state: str
    rule_codes: list[str]
    tags: list[str]
    due_date: date
    created_at: datetime
    has_new_evidence: bool
    snoozed_until: date | None
    subject_key: str
    owning_agency_id: int
    assignee_id: int | None
    assignee_username: str | None

    @property
    def subject_ref(self) -> str:
        """The person or employer that audit events name (as `Case.subject_ref`)."""
        return self.subject_key[:80]


_ROW_FIELDS = [f for f in QueueRow.__slots__ if f not in ("pk", "assignee_username")]


@dataclass
class QueuePage:
    """One page of the queue and the cursor of the next one."""

    cases: list[QueueRow]
    next_cursor: str = ""
    filters: QueueFilters | None = None


def _in(column: str, values: list[Any], params: list[Any]) -> str:
    """`column IN (%s, ...)` as the ORM writes it (the planner matches it to the partial indexes)."""
    if not values:  # the ORM's empty IN matches nothing
        return "FALSE"
    params += values
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _like(value: str) -> str:
    return f"%{connection.ops.prep_for_like_query(value)}%"


def queue_page_sql(
    *, user: Any, filters: QueueFilters, today: date, cursor: tuple[Any, int] | None, limit: int
) -> tuple[str, list[Any]] | None:
    """The queue page as one SQL statement: `queue_queryset` (scope and filters), keyset, order, limit.

    The busiest read of the application, written out so that a page costs no ORM query build
    (~3 ms of CPU a request). The scope comes from `case_scope`, the same as `visible_to`'s; tests
    hold the two to the same rows for every filter (tests/cases/test_views.py).
    """

    scope = case_scope(user, "view")
    if scope is None:
        return None
    p: list[Any] = []
    where = [_in("c.owning_agency_id", scope.agencies, p)]
    unit = "(c.opened_at IS NULL AND c.routed_unit_id = %s)" if scope.unit_id else "FALSE"
    if scope.unit_id:
        p.append(scope.unit_id)
    where.append(f"({unit} OR {_in('c.id', scope.member_ids, p)})" if scope.member_ids else unit)
    where.append(_in("c.status", list(filters.status), p))
    if not filters.snoozed:
        where.append("(c.snoozed_until IS NULL OR c.snoozed_until < %s)")
        p.append(today)
    if filters.rule:
        where.append("c.rule_codes @> ARRAY[%s]::varchar(64)[]")
        p.append(filters.rule)
    if filters.severity:
        where.append(_in("c.severity", list(filters.severity), p))
    if filters.score_min is not None:
        where.append("c.score >= %s")
        p.append(filters.score_min)
    if filters.score_max is not None:
        where.append("c.score <= %s")
        p.append(filters.score_max)
    if filters.employer:
        if filters.employer.isdigit():
            where.append("c.employer_ref = %s")
            p.append(int(filters.employer))
        else:
            where.append("UPPER(c.employer_name::text) LIKE UPPER(%s)")
            p.append(_like(filters.employer))
    if filters.state:
        where.append("c.state = %s")
        p.append(filters.state)
    if filters.agency:
        where.append(
            f'c.owning_agency_id IN (SELECT a.id FROM "{Agency._meta.db_table}" a WHERE a.code = %s)'  # noqa: S608 - table and column names are ours
        )
        p.append(filters.agency)
    if filters.assignee == "me":
        where.append("c.assignee_id = %s")
        p.append(user.pk)
    elif filters.assignee == "none":
        where.append("c.assignee_id IS NULL")
    elif filters.assignee.isdigit():
        where.append("c.assignee_id = %s")
        p.append(int(filters.assignee))
    if filters.age_min is not None:
        where.append("(c.created_at AT TIME ZONE %s)::date <= %s")
        p += [timezone.get_current_timezone_name(), today - timedelta(days=filters.age_min)]
    if filters.due == "overdue":
        where.append("c.due_date < %s")
        p.append(today)
    elif filters.due == "today":
        where.append("c.due_date = %s")
        p.append(today)
    elif filters.due == "week":
        where.append("c.due_date <= %s")
        p.append(today + timedelta(days=7))
    if filters.tag:
        where.append("c.tags @> ARRAY[%s]::varchar(40)[]")
        p.append(filters.tag)
    if filters.q:
        if filters.q.upper().startswith("CC-"):
            where.append("c.number = %s")
            p.append(filters.q.upper())
        else:
            where.append("UPPER(c.subject_name::text) LIKE UPPER(%s)")
            p.append(_like(filters.q))
    column = SORTS[filters.sort][0]
    if cursor is not None:
        # A row comparison the ordered partial index answers directly.
        where.append(f"(c.{column}, c.id) > (%s, %s)")
        p += list(cursor)
    columns = ", ".join(f"c.{f}" for f in ("id", *_ROW_FIELDS))
    # Interpolated: model tables, fixed column names and the placeholders above; values are params.
    tables = f'"{Case._meta.db_table}" c LEFT OUTER JOIN "{User._meta.db_table}" u ON c.assignee_id = u.id'
    sql = f"SELECT {columns}, u.username FROM {tables} WHERE {' AND '.join(where)} ORDER BY c.{column} ASC, c.id ASC LIMIT %s"  # noqa: S608
    p.append(limit)
    return sql, p


def queue_page(
    *, user: Any, filters: QueueFilters, today: date, after: str = "", size: int = PAGE_SIZE
) -> QueuePage:
    """One page by keyset: (sort column, id) > cursor, so the 1,000th page costs what the first does."""

    column = SORTS[filters.sort][0]
    cursor = _decode_cursor(after, filters.sort) if after else None
    statement = queue_page_sql(
        user=user, filters=filters, today=today, cursor=cursor, limit=size + 1
    )
    if statement is None:
        return QueuePage(cases=[], filters=filters)
    with connection.cursor() as db:
        db.execute(*statement)
        rows = [QueueRow(*values) for values in db.fetchall()]
    next_cursor = ""
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode_cursor(getattr(last, column), last.pk)
    return QueuePage(cases=rows, next_cursor=next_cursor, filters=filters)


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
         ORDER BY is_unit_default DESC, name ASC"""  # noqa: S608 - the only interpolation is the model's table
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
         ORDER BY unit_id ASC, last_name ASC, username ASC"""  # noqa: S608 - the only interpolation is the model's table
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.agency_id])
        rows = cursor.fetchall()
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


# --- A case's page -------------------------------------------------------------------------------


@dataclass
class FieldRow:
    """One compared field: submitted beside reference, and whether they disagree."""

    field: str
    source: str
    submitted: str
    reference: str
    score: float | None
    mismatch: bool


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
            )
        )
    return rows


def case_findings(*, case: Case) -> list[dict[str, Any]]:
    """The findings behind a case with their field rows and rule explanation."""

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
                "rows": _field_rows(f),
            }
        )
    return out


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


# --- Dashboards ----------------------------------------------------------------------------------

AGE_BUCKETS = [
    (0, 2, "0-2 d"),
    (3, 7, "3-7 d"),
    (8, 14, "8-14 d"),
    (15, 30, "15-30 d"),
    (31, 10_000, "> 30 d"),
]


def analyst_dashboard(*, user: Any, today: date) -> dict[str, Any]:
    """My queue in numbers: open, overdue, due soon, and aging."""
    mine = Case.objects.visible_to(user).open().filter(assignee_id=user.pk)
    counts = mine.aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(due_date__lt=today)),
        due_soon=Count(
            "id", filter=Q(due_date__gte=today, due_date__lte=today + timedelta(days=3))
        ),
    )
    due_soon = list(
        mine.filter(due_date__lte=today + timedelta(days=3)).order_by("due_date", "id")[:20]
    )
    return {"counts": counts, "due_soon": due_soon, "aging": _aging(mine, today)}


def _aging(qs: QuerySet[Case], today: date) -> list[dict[str, Any]]:
    aggregates = {
        f"b{i}": Count(
            "id",
            filter=Q(
                created_at__date__lte=today - timedelta(days=lo),
                created_at__date__gte=today - timedelta(days=hi),
            ),
        )
        for i, (lo, hi, _) in enumerate(AGE_BUCKETS)
    }
    counts = qs.aggregate(**aggregates)
    return [
        {"label": label, "count": counts[f"b{i}"]} for i, (_, _, label) in enumerate(AGE_BUCKETS)
    ]


def supervisor_dashboard(*, user: Any, today: date, weeks: int = 12) -> dict[str, Any]:
    """Backlog by age, time-to-triage, dispositions by kind and precision per rule over time."""
    visible = Case.objects.visible_to(user)
    backlog = _aging(visible.filter(status__in=OPEN_STATUSES), today)
    since = today - timedelta(weeks=weeks)
    triaged = visible.filter(triaged_at__isnull=False, triaged_at__date__gte=since)
    ttt = triaged.aggregate(avg=Avg(F("triaged_at") - F("created_at")))["avg"]
    dispositions = list(
        visible.filter(status=CaseStatus.CLOSED, closed_at__date__gte=since)
        .values("closure")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    labels = dict(Closure.choices)
    for d in dispositions:
        d["label"] = labels.get(d["closure"], d["closure"])
    return {
        "backlog": backlog,
        "time_to_triage_hours": round(ttt.total_seconds() / 3600, 1) if ttt else None,
        "triaged_count": triaged.count(),
        "dispositions": dispositions,
        "precision": rule_precision(user=user, since=since),
    }


def rule_precision(*, user: Any, since: date) -> dict[str, list[dict[str, Any]]]:
    """Per rule and week: findings decided and the share dismissed as false positive."""
    rows = (
        CaseFinding.objects.filter(
            case__in=Case.objects.visible_to(user),
            case__status=CaseStatus.CLOSED,
            case__closed_at__date__gte=since,
        )
        .exclude(case__closure=Closure.MERGED)
        .annotate(week=TruncWeek("case__closed_at"))
        .values("finding__rule_code", "week")
        .annotate(
            decided=Count("id"),
            dismissed=Count("id", filter=Q(case__closure=Closure.FALSE_POSITIVE)),
        )
        .order_by("finding__rule_code", "week")
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["finding__rule_code"], []).append(
            {
                "week": r["week"].date() if hasattr(r["week"], "date") else r["week"],
                "decided": r["decided"],
                "dismissed": r["dismissed"],
                "precision": round(1 - r["dismissed"] / r["decided"], 3) if r["decided"] else None,
            }
        )
    return out


def export_rows(*, user: Any, filters: QueueFilters, today: date, limit: int):
    """Rows of the CSV export: the queue's visible fields only, in the queue's order."""
    column = SORTS[filters.sort][0]
    qs = (
        queue_queryset(user=user, filters=filters, today=today, action="export")
        .select_related("assignee")
        .order_by(column, "id")
    )
    return qs[:limit]


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
        int(s.split(":", 1)[1])
        for s in subjects
        if s.startswith("worker:") and s.split(":", 1)[1].isdigit()
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
