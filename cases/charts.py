"""The charts page's figures: each chart is its numbers (drawn by the vendored Chart.js, shown as an
accessible table beside it, and downloadable as CSV), computed under the triage queue's own filters
and scope (`queue_queryset`, which reads through `visible_to`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Avg, Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf, TruncMonth, TruncWeek
from django.urls import reverse

from cases.dashboards import AGE_BUCKETS
from cases.models import OPEN_STATUSES, CaseFinding, CaseStatus, Closure, Severity
from cases.queue import QueueFilters, queue_queryset
from verification.models import CaseStatus as VStatus
from verification.models import VerificationCase

WEEKS = 12
MONTHS = 12
# USWDS palette colours with enough contrast on white (3:1 for graphics).
COLOURS = {
    Severity.HIGH: "#b50909",
    Severity.MEDIUM: "#c05600",
    Severity.LOW: "#005ea2",
    "line": "#1a4480",
    "bar": "#005ea2",
    "other": "#565c65",
}
OUTCOME_COLOURS = ["#00a91c", "#b50909", "#c05600", "#005ea2", "#565c65", "#54278f"]


@dataclass
class Chart:
    """One chart: what Chart.js draws, and the same numbers as a table (headers and rows)."""

    key: str
    title: str
    kind: str  # "bar", "line" or "bar+line"
    labels: list[str]
    datasets: list[dict[str, Any]]
    headers: list[str]
    rows: list[list[Any]]
    links: list[str] = field(default_factory=list)  # per row: the list behind it ("" if none)
    y_title: str = ""
    y2_title: str = ""
    note: str = ""
    stacked: bool = False
    y2_max: float | None = None

    @property
    def data_id(self) -> str:
        """The id of the chart's JSON data block."""
        return f"chart-data-{self.key}"

    @property
    def table(self) -> list[tuple[str, Any, list[Any]]]:
        """Rows of the table: (link to the list behind the row or "", first cell, other cells)."""
        links = self.links or [""] * len(self.rows)
        return [(link, row[0], row[1:]) for link, row in zip(links, self.rows, strict=True)]

    def spec(self) -> dict[str, Any]:
        """What charts.js reads (a JSON data block; the CSP forbids inline script, not data)."""
        return {
            "kind": self.kind,
            "labels": self.labels,
            "datasets": self.datasets,
            "yTitle": self.y_title,
            "y2Title": self.y2_title,
            "stacked": self.stacked,
            "title": self.title,
            "y2Max": self.y2_max,
        }


def _all_statuses(filters: QueueFilters) -> QueueFilters:
    return dataclasses.replace(filters, status=list(CaseStatus.values), snoozed=True)


def backlog_aging(*, user: Any, filters: QueueFilters, today: date) -> Chart:
    """Open cases by age bucket and severity; each bucket links to the queue showing those cases."""
    if set(filters.status) == set(QueueFilters().status):
        filters = dataclasses.replace(filters, status=list(OPEN_STATUSES))
    qs = queue_queryset(user=user, filters=filters, today=today)
    aggregates = {
        f"b{i}_{sev}": Count(
            "id",
            filter=Q(
                severity=sev,
                created_at__date__lte=today - timedelta(days=lo),
                created_at__date__gte=today - timedelta(days=hi),
            ),
        )
        for i, (lo, hi, _) in enumerate(AGE_BUCKETS)
        for sev in Severity.values
    }
    counts = qs.aggregate(**aggregates)
    labels = [label for _, _, label in AGE_BUCKETS]
    severities = [Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    datasets = [
        {
            "label": str(sev.label),
            "data": [counts[f"b{i}_{sev.value}"] for i in range(len(AGE_BUCKETS))],
            "color": COLOURS[sev],
        }
        for sev in severities
    ]
    rows, links = [], []
    base = _query_of(filters)
    for i, (lo, hi, label) in enumerate(AGE_BUCKETS):
        values = [counts[f"b{i}_{sev.value}"] for sev in severities]
        rows.append([label, *values, sum(values)])
        params = [*base, ("age_min", str(lo)), ("age_max", str(hi))]
        links.append(f"{reverse('cases:queue')}?{urlencode(params)}")
    return Chart(
        "backlog",
        "Backlog by age",
        "bar",
        labels,
        datasets,
        ["Age", *[str(s.label) for s in severities], "Total"],
        rows,
        links,
        y_title="Open cases",
        stacked=True,
    )


def time_to_triage(*, user: Any, filters: QueueFilters, today: date) -> Chart:
    """Per week of triage: cases triaged and the average hours from flag to triage."""
    since = today - timedelta(weeks=WEEKS)
    qs = queue_queryset(user=user, filters=_all_statuses(filters), today=today).filter(
        triaged_at__isnull=False, triaged_at__date__gte=since
    )
    weeks = list(
        qs.annotate(week=TruncWeek("triaged_at"))
        .values("week")
        .annotate(n=Count("id"), avg=Avg(F("triaged_at") - F("created_at")))
        .order_by("week")
    )
    labels = [f"{w['week']:%Y-%m-%d}" for w in weeks]
    hours = [round(w["avg"].total_seconds() / 3600, 1) if w["avg"] else 0 for w in weeks]
    counts = [w["n"] for w in weeks]
    return Chart(
        "triage",
        "Time to triage",
        "bar+line",
        labels,
        [
            {"label": "Cases triaged", "data": counts, "color": COLOURS["bar"], "axis": "y"},
            {
                "label": "Average hours to triage",
                "data": hours,
                "color": COLOURS[Severity.HIGH],
                "axis": "y2",
                "type": "line",
            },
        ],
        ["Week of", "Cases triaged", "Average hours to triage"],
        [[label, n, h] for label, n, h in zip(labels, counts, hours, strict=True)],
        y_title="Cases triaged",
        y2_title="Hours",
        note=f"Cases triaged in the last {WEEKS} weeks, by the week of their triage.",
    )


def precision_per_rule(*, user: Any, filters: QueueFilters, today: date) -> Chart:
    """Per rule: findings on cases, those decided, and the share not dismissed as false positive."""
    cases = queue_queryset(user=user, filters=_all_statuses(filters), today=today)
    rows_qs = (
        CaseFinding.objects.filter(case__in=cases)
        .values("finding__rule_code")
        .annotate(
            findings=Count("id"),
            decided=Count(
                "id",
                filter=Q(case__status=CaseStatus.CLOSED) & ~Q(case__closure=Closure.MERGED),
            ),
            dismissed=Count("id", filter=Q(case__closure=Closure.FALSE_POSITIVE)),
        )
        .order_by("-findings", "finding__rule_code")
    )
    rules = list(rows_qs[:20])
    labels = [r["finding__rule_code"] for r in rules]
    precision = [
        round(100 * (1 - r["dismissed"] / r["decided"]), 1) if r["decided"] else None for r in rules
    ]
    rows, links = [], []
    base = _query_of(_all_statuses(filters))
    for r, p in zip(rules, precision, strict=True):
        rows.append([r["finding__rule_code"], r["findings"], r["decided"], r["dismissed"], p])
        params = [(k, v) for k, v in base if k != "rule"] + [("rule", r["finding__rule_code"])]
        links.append(f"{reverse('cases:queue')}?{urlencode(params)}")
    return Chart(
        "precision",
        "Findings and precision per rule",
        "bar+line",
        labels,
        [
            {
                "label": "Findings",
                "data": [r["findings"] for r in rules],
                "color": COLOURS["bar"],
                "axis": "y",
            },
            {
                "label": "Precision (%)",
                "data": precision,
                "color": COLOURS[Severity.HIGH],
                "axis": "y2",
                "type": "line",
            },
        ],
        ["Rule", "Findings", "Decided", "Dismissed as false positive", "Precision (%)"],
        rows,
        links,
        y_title="Findings",
        y2_title="Precision (%)",
        y2_max=100,
        note="Precision: the share of decided findings not dismissed as false positives.",
    )


def _vcases(user: Any, params: dict[str, str]) -> QuerySet[VerificationCase]:
    qs = VerificationCase.objects.visible_to(user).filter(submitted_at__isnull=False)
    if params.get("tnc_source") in ("ssa", "dhs"):
        qs = qs.filter(tnc_source=params["tnc_source"])
    if params.get("employer"):
        qs = qs.filter(employer__name__icontains=params["employer"][:100])
    return qs


def verification_outcomes(*, user: Any, params: dict[str, str], today: date) -> Chart:
    """Per month of submission: verification cases by outcome (the last result, or the status)."""
    start = (today.replace(day=1) - timedelta(days=31 * (MONTHS - 1))).replace(day=1)
    rows_qs = (
        _vcases(user, params)
        .filter(submitted_at__date__gte=start)
        .annotate(
            month=TruncMonth("submitted_at"),
            outcome=Coalesce(NullIf("result", Value("")), "status"),
        )
        .values("month", "outcome")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    table: dict[str, dict[str, int]] = {}
    outcomes: list[str] = []
    for r in rows_qs:
        key = f"{r['month']:%Y-%m}"
        outcome = r["outcome"] or VStatus.DRAFT
        table.setdefault(key, {})[outcome] = table.get(key, {}).get(outcome, 0) + r["n"]
        if outcome not in outcomes:
            outcomes.append(outcome)
    labels = sorted(table)
    names = {value: str(label) for value, label in VStatus.choices}
    outcomes.sort(key=lambda o: list(names).index(o) if o in names else 99)
    datasets = [
        {
            "label": names.get(o, o),
            "data": [table[m].get(o, 0) for m in labels],
            "color": OUTCOME_COLOURS[i % len(OUTCOME_COLOURS)],
        }
        for i, o in enumerate(outcomes)
    ]
    return Chart(
        "outcomes",
        "Verification outcomes over time",
        "bar",
        labels,
        datasets,
        ["Month", *[names.get(o, o) for o in outcomes]],
        [[m, *[table[m].get(o, 0) for o in outcomes]] for m in labels],
        y_title="Verification cases",
        stacked=True,
        note=f"Cases submitted in the last {MONTHS} months, by their last result.",
    )


def _query_of(filters: QueueFilters) -> list[tuple[str, str]]:
    """The queue's query string for these filters (the filters a chart was drawn under)."""
    pairs: list[tuple[str, str]] = [("status", s) for s in filters.status]
    pairs += [("severity", s) for s in filters.severity]
    for name in ("rule", "employer", "state", "agency", "assignee", "tag", "q"):
        value = getattr(filters, name)
        if value:
            pairs.append((name, str(value)))
    if filters.snoozed:
        pairs.append(("snoozed", "1"))
    return pairs


def case_charts(*, user: Any, filters: QueueFilters, today: date) -> list[Chart]:
    """The case charts, under the queue's filters."""
    return [
        backlog_aging(user=user, filters=filters, today=today),
        time_to_triage(user=user, filters=filters, today=today),
        precision_per_rule(user=user, filters=filters, today=today),
    ]
