"""The analysts' and supervisors' dashboards and the rule-precision figures of the cases app."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncWeek

from cases.models import (
    OPEN_STATUSES,
    Case,
    CaseFinding,
    CaseStatus,
    Closure,
)

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
