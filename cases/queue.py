"""The triage queue's read model: filters, sorts, keyset cursors and the one SQL statement of a page."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.access import CaseScope, case_scope
from cases.models import (
    FLAGGED_STAGE,
    Case,
)
from core.calendar import add_working_days
from core.ids import is_id
from privacy.models import Agency, User

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


@dataclass
class QueueFilters:
    """The queue's filters (`cases.forms.QueueFilterForm` parses them from a query string)."""

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
    age_max: int | None = None
    due: str = ""
    since: datetime | None = None
    signoff: bool = False
    tag: str = ""
    q: str = ""
    snoozed: bool = False
    sort: str = "priority"

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
            if is_id(filters.employer)
            else qs.filter(employer_name__icontains=filters.employer)
        )
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.agency:
        qs = qs.filter(owning_agency__code=filters.agency)
    qs = qs.filter(
        assignee_q(filters.assignee, user),
        age_q(filters.age_min, filters.age_max, today),
        due_q(filters.due, today),
        since_q(filters.since),
    )
    if filters.signoff:
        qs = qs.exclude(proposed_closure="")
    if filters.tag:
        qs = qs.filter(tags__contains=[filters.tag])
    if filters.q:
        qs = (
            qs.filter(number=filters.q.upper())
            if filters.q.upper().startswith("CC-")
            else qs.filter(subject_name__icontains=filters.q)
        )
    return qs


def assignee_q(assignee: str, user: Any) -> Q:
    """The `assignee` filter: "me", "none" or a user's id."""
    if assignee == "me":
        return Q(assignee_id=user.pk)
    if assignee == "none":
        return Q(assignee__isnull=True)
    if is_id(assignee):
        return Q(assignee_id=int(assignee))
    return Q()


def since_q(since: datetime | None) -> Q:
    """Cases flagged at or after `since`."""
    return Q() if since is None else Q(created_at__gte=since)


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the current time zone (an aware datetime)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def age_q(age_min: int | None, age_max: int | None, today: date) -> Q:
    """Cases at least `age_min` and at most `age_max` days old (by the local day they were flagged).

    As bounds on the timestamp itself (flagged before the day after `today - age_min` began, and
    since `today - age_max` began), not on its local date: a range an index answers, and a plain
    comparison where a home counts its age buckets over every open case."""
    q = Q()
    if age_min is not None:
        q &= Q(created_at__lt=day_start(today - timedelta(days=age_min - 1)))
    if age_max is not None:
        q &= Q(created_at__gte=day_start(today - timedelta(days=age_max)))
    return q


def due_q(due: str, today: date) -> Q:
    """The `due` filter: overdue, today, within a week, due soon (working days) or on time."""
    if due == "overdue":
        return Q(due_date__lt=today)
    if due == "today":
        return Q(due_date=today)
    if due == "week":
        return Q(due_date__lte=today + timedelta(days=7))
    if due == "soon":
        return Q(due_date__gte=today, due_date__lte=due_soon_limit(today))
    if due == "later":
        return Q(due_date__gt=due_soon_limit(today))
    return Q()


def _encode_cursor(value: Any, pk: int) -> str:
    raw = f"{value.isoformat() if hasattr(value, 'isoformat') else value}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_MAX_ID = 2**63 - 1


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int] | None:
    """The (sort value, id) a page cursor stands for; None for a cursor that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        value, pk = raw.rsplit("|", 1)
        key: Any
        if sort == "priority":
            key = int(value)
            if not 0 <= key <= 32767:  # a PositiveSmallIntegerField
                return None
        elif sort == "due":
            key = date.fromisoformat(value)
        else:
            key = datetime.fromisoformat(value)
        if not 0 < int(pk) <= _MAX_ID:
            return None
        return key, int(pk)
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
    where = [
        *_scope_conditions(scope, p),
        *_work_conditions(user, filters, today, p),
        *_subject_conditions(filters, p),
    ]
    column = SORTS[filters.sort][0]
    if cursor is not None:
        # A row comparison the ordered partial index answers directly.
        where.append(f"(c.{column}, c.id) > (%s, %s)")
        p += list(cursor)
    columns = ", ".join(f"c.{f}" for f in ("id", *_ROW_FIELDS))
    # Interpolated: model tables, fixed column names and the placeholders above; values are params.
    tables = f'"{Case._meta.db_table}" c LEFT OUTER JOIN "{User._meta.db_table}" u ON c.assignee_id = u.id'
    sql = f"SELECT {columns}, u.username FROM {tables} WHERE {' AND '.join(where)} ORDER BY c.{column} ASC, c.id ASC LIMIT %s"  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
    p.append(limit)
    return sql, p


def _scope_conditions(scope: CaseScope, p: list[Any]) -> list[str]:
    """The cases the reader may see: of the scope's agencies, and routed to the reader's unit
    while flagged or among the reader's member cases."""
    where = [_in("c.owning_agency_id", scope.agencies, p)]
    unit = "(c.opened_at IS NULL AND c.routed_unit_id = %s)" if scope.unit_id else "FALSE"
    if scope.unit_id:
        p.append(scope.unit_id)
    where.append(f"({unit} OR {_in('c.id', scope.member_ids, p)})" if scope.member_ids else unit)
    return where


def _work_conditions(user: Any, filters: QueueFilters, today: date, p: list[Any]) -> list[str]:
    """Where a case stands in the work: status, snooze, assignee, age and due date."""
    where = [_in("c.status", list(filters.status), p)]
    if not filters.snoozed:
        where.append("(c.snoozed_until IS NULL OR c.snoozed_until < %s)")
        p.append(today)
    if filters.assignee == "me":
        where.append("c.assignee_id = %s")
        p.append(user.pk)
    elif filters.assignee == "none":
        where.append("c.assignee_id IS NULL")
    elif is_id(filters.assignee):
        where.append("c.assignee_id = %s")
        p.append(int(filters.assignee))
    if filters.age_min is not None:  # as age_q
        where.append("c.created_at < %s")
        p.append(day_start(today - timedelta(days=filters.age_min - 1)))
    if filters.age_max is not None:
        where.append("c.created_at >= %s")
        p.append(day_start(today - timedelta(days=filters.age_max)))
    if filters.since is not None:
        where.append("c.created_at >= %s")
        p.append(filters.since)
    if filters.signoff:
        where.append("c.proposed_closure <> ''")
    return [*where, *_due_conditions(filters.due, today, p)]


def _due_conditions(due: str, today: date, p: list[Any]) -> list[str]:
    """The SLA state: overdue, due today, within a week, due soon (working days) or on time."""
    if due == "overdue":
        p.append(today)
        return ["c.due_date < %s"]
    if due == "today":
        p.append(today)
        return ["c.due_date = %s"]
    if due == "week":
        p.append(today + timedelta(days=7))
        return ["c.due_date <= %s"]
    if due == "soon":
        p += [today, due_soon_limit(today)]
        return ["c.due_date >= %s AND c.due_date <= %s"]
    if due == "later":
        p.append(due_soon_limit(today))
        return ["c.due_date > %s"]
    return []


def due_soon_limit(today: date) -> date:
    """The last day that is "due soon": CROSSCHECK_DUE_SOON_DAYS federal working days ahead."""
    return add_working_days(today, settings.CASES_DUE_SOON_WORKING_DAYS)


def sla_state(due: date, today: date) -> str:
    """A due date's SLA state, as the queue's `due` filter names it: overdue, soon or later."""
    if due < today:
        return "overdue"
    return "soon" if due <= due_soon_limit(today) else "later"


def _subject_conditions(filters: QueueFilters, p: list[Any]) -> list[str]:
    """What a case is about: rule, severity, score, employer, state, owning agency, tag, and the
    subject's name or the case number."""
    where = []
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
        if is_id(filters.employer):
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
            f'c.owning_agency_id IN (SELECT a.id FROM "{Agency._meta.db_table}" a WHERE a.code = %s)'  # noqa: S608  # nosec B608 # table and column names are ours
        )
        p.append(filters.agency)
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
    return where


def queue_page(
    *, user: Any, filters: QueueFilters, today: date, after: str = "", size: int = PAGE_SIZE
) -> QueuePage:
    """One page by keyset: (sort column, id) > cursor, so the 1,000th page costs what the first does."""

    column = SORTS[filters.sort][0]
    cursor = decode_cursor(after, filters.sort) if after else None
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


def export_rows(*, user: Any, filters: QueueFilters, today: date, limit: int):
    """Rows of the CSV export: the queue's visible fields only, in the queue's order."""
    column = SORTS[filters.sort][0]
    qs = (
        queue_queryset(user=user, filters=filters, today=today, action="export")
        .select_related("assignee")
        .order_by(column, "id")
    )
    return qs[:limit]
