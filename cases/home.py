"""The home page of each role: "what needs me now?", as counts that link to the lists behind them.

Every count is computed by the very selector its list uses, with the same parameters, so a count
and the rows its link shows cannot drift apart. Every read is scoped with `visible_to` (directly or
through those selectors). A home costs a bounded number of queries whatever the data holds
(tests/cases/test_home.py). The analyst's and the supervisor's case counts are cached per user
and scope until the next committed change to cases (cases/home_counts.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from audit import selectors as audit_selectors
from audit.forms import EventFilterForm
from audit.models import Outcome, ReviewReason
from cases.access import allowed_agency_ids
from cases.dashboards import AGE_BUCKETS
from cases.forms import QueueFilterForm
from cases.home_counts import cached_counts
from cases.models import FLAGGED_STAGE, OPEN_STATUSES, Case
from cases.queue import age_q, assignee_q, due_q, queue_queryset, since_q
from cases.selectors import saved_views_for
from core.calendar import working_days_between
from privacy import selectors as privacy_selectors
from privacy.models import RecertificationCampaign, Role, SubjectRequest
from privacy.models.agreements import CampaignStatus
from verification import selectors as verification_selectors
from verification.models import CaseStatus as VStatus

SAVED_VIEWS_SHOWN = 6
CLOCKS_SHOWN = 8


@dataclass(frozen=True)
class Tile:
    """One count on a home page and the list that holds exactly those rows."""

    label: str
    count: int
    url: str
    tone: str = ""  # "alert", "warn", "ok" or ""
    hint: str = ""


@dataclass
class Section:
    """A block of a home page: tiles, and optionally a small table."""

    title: str
    tiles: list[Tile] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def _queue_tile(
    user: Any, today: date, label: str, params: list[tuple[str, str]], tone: str = ""
) -> Tile:
    """A count of the triage queue under `params`, computed by the queue's own filter code."""
    query = urlencode(params)
    filters = QueueFilterForm(QueryDict(query)).filters()
    count = queue_queryset(user=user, filters=filters, today=today).count()
    return Tile(label, count, f"{reverse('cases:queue')}?{query}", tone if count else "")


def _queue_tiles(
    user: Any,
    today: date,
    base: list[tuple[str, str]],
    variants: list[tuple[str, list[tuple[str, str]], str]],
) -> list[Tile]:
    """Tiles that differ from `base` only by age, due date, assignee or flagged-since, counted in
    one aggregate (one scan) over the queue's own conditions (`age_q`, `due_q`, `assignee_q`,
    `since_q`: the very ones `queue_queryset` filters by)."""
    base_filters = QueueFilterForm(QueryDict(urlencode(base))).filters()
    queue = reverse("cases:queue")
    counts: dict[str, Any] = {}
    parsed = []
    for i, (label, extra, tone) in enumerate(variants):
        query = urlencode([*base, *extra])
        f = QueueFilterForm(QueryDict(query)).filters()
        rest = dataclasses.replace(
            f,
            age_min=base_filters.age_min,
            age_max=base_filters.age_max,
            due=base_filters.due,
            assignee=base_filters.assignee,
            since=base_filters.since,
        )
        if rest != base_filters:
            raise ValueError(f"{label}: a variant may differ by age, due, assignee or since only")
        counts[f"v{i}"] = Count(
            "id",
            filter=age_q(f.age_min, f.age_max, today)
            & due_q(f.due, today)
            & assignee_q(f.assignee, user)
            & since_q(f.since),
        )
        parsed.append((label, query, tone))
    found = queue_queryset(user=user, filters=base_filters, today=today).aggregate(**counts)
    return [
        Tile(label, found[f"v{i}"], f"{queue}?{query}", tone if found[f"v{i}"] else "")
        for i, (label, query, tone) in enumerate(parsed)
    ]


def _open_statuses() -> list[tuple[str, str]]:
    return [("status", s) for s in OPEN_STATUSES]


def _flagged() -> list[tuple[str, str]]:
    return [("status", s) for s in FLAGGED_STAGE]


def analyst_home(*, user: Any, today: date, since: datetime) -> list[Section]:
    """My open cases by SLA state, new since my last visit, and my saved views with their counts."""
    stamp = timezone.localtime(since).replace(microsecond=0, tzinfo=None).isoformat()
    saved = tuple(
        (view.name, view.query) for view in saved_views_for(user=user)[:SAVED_VIEWS_SHOWN]
    )
    return cached_counts(
        user=user,
        parts=("analyst", today, stamp, saved),
        compute=lambda: _analyst_sections(user, today, stamp, saved),
    )


def _analyst_sections(
    user: Any, today: date, stamp: str, saved: tuple[tuple[str, str], ...]
) -> list[Section]:
    mine = [*_open_statuses(), ("assignee", "me")]
    sla = Section(
        "My open cases",
        _queue_tiles(
            user,
            today,
            mine,
            [
                ("Overdue", [("due", "overdue")], "alert"),
                ("Due soon", [("due", "soon")], "warn"),
                ("On time", [("due", "later")], "ok"),
            ],
        ),
    )
    inbox = Section(
        "In my unit's queue",
        _queue_tiles(
            user,
            today,
            _flagged(),
            [
                ("New since my last visit", [("since", stamp)], ""),
                ("Unassigned", [("assignee", "none")], ""),
            ],
        ),
    )
    views = Section("My saved views")
    for name, query in saved:
        params = list(QueryDict(query).lists())
        pairs = [(k, v) for k, values in params for v in values if k != "after"]
        views.tiles.append(_queue_tile(user, today, name, pairs))
    if not views.tiles:
        views.note = "Save a filter on the triage queue and it shows here with its count."
    return [sla, inbox, views]


def supervisor_home(*, user: Any, today: date) -> list[Section]:
    """Awaiting my sign-off, today's audit review, and the team backlog by age and by analyst."""
    signoff_tile, backlog, by_analyst = cached_counts(
        user=user, parts=("supervisor", today), compute=lambda: _team_counts(user, today)
    )
    signoff = Section("Awaiting my decision", [signoff_tile])
    review_url = reverse("audit:review")
    open_reviews = dict(
        audit_selectors.review_queue(user=user, open_only=True)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("id"))
    )
    unreviewed = privacy_selectors.break_glass_for(user=user, unreviewed=True).count()
    signoff.tiles += [
        Tile(
            "Audit events sampled for my review",
            open_reviews.get(ReviewReason.SAMPLE, 0),
            f"{review_url}?reason={ReviewReason.SAMPLE}&state=open",
            "warn" if open_reviews.get(ReviewReason.SAMPLE) else "",
        ),
        Tile(
            "Anomaly flags to review",
            open_reviews.get(ReviewReason.FLAG, 0),
            f"{review_url}?reason={ReviewReason.FLAG}&state=open",
            "alert" if open_reviews.get(ReviewReason.FLAG) else "",
        ),
        Tile(
            "Break-glass uses to review",
            unreviewed,
            f"{reverse('privacy:break-glass-list')}?state=unreviewed",
            "warn" if unreviewed else "",
        ),
    ]
    return [signoff, backlog, by_analyst]


def _team_counts(user: Any, today: date) -> tuple[Tile, Section, Section]:
    """The supervisor's case counts: sign-offs waiting, the backlog by age and by analyst."""
    signoff = _queue_tile(
        user,
        today,
        "Dispositions awaiting sign-off",
        [*_open_statuses(), ("signoff", "1")],
        "alert",
    )
    # The age buckets and the unassigned cases: one scan of the open cases.
    *ages, unassigned = _queue_tiles(
        user,
        today,
        _open_statuses(),
        [
            *[
                (label, [("age_min", str(lo)), ("age_max", str(hi))], "alert" if lo > 14 else "")
                for lo, hi, label in AGE_BUCKETS
            ],
            ("Unassigned", [("assignee", "none")], "warn"),
        ],
    )
    return signoff, Section("Team backlog by age", ages), _by_analyst(user, today, unassigned)


def _by_analyst(user: Any, today: date, unassigned: Tile) -> Section:
    """Open cases per assignee (one grouped query), after the unassigned ones."""
    base = _open_statuses()
    filters = QueueFilterForm(QueryDict(urlencode(base))).filters()
    per = (
        queue_queryset(user=user, filters=filters, today=today)
        .filter(assignee__isnull=False)
        .order_by()
        .values("assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name")
        .annotate(n=Count("id"))
        .order_by("-n", "assignee__username")
    )
    section = Section("Team backlog by analyst", [unassigned])
    queue = reverse("cases:queue")
    for row in per:
        name = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
        query = urlencode([*base, ("assignee", str(row["assignee_id"]))])
        section.tiles.append(Tile(name or row["assignee__username"], row["n"], f"{queue}?{query}"))
    return section


def admin_home(*, user: Any) -> list[Section]:
    """Agreements expiring in 30/60/90 days, recertifications, access requests, lapsing grants."""
    agreements = reverse("privacy:agreement-list")
    expiring = Section(
        "Agreements ending",
        [
            Tile(
                f"Within {days} days",
                privacy_selectors.agreements_for(user=user, expiring_within=days).count(),
                f"{agreements}?expiring={days}",
                tone,
            )
            for days, tone in ((30, "alert"), (60, "warn"), (90, ""))
        ],
    )
    campaigns = RecertificationCampaign.objects.filter(status=CampaignStatus.OPEN).count()
    requests = SubjectRequest.objects.visible_to(user).open().count()
    lapsing = privacy_selectors.users_with_lapsing_grants(within_days=30).count()
    people = Section(
        "People and access",
        [
            Tile(
                "Recertification campaigns open",
                campaigns,
                f"{reverse('privacy:campaign-list')}?status={CampaignStatus.OPEN}",
                "warn" if campaigns else "",
            ),
            Tile(
                "Privacy Act requests pending",
                requests,
                reverse("privacy:subject-request-list"),
                "warn" if requests else "",
            ),
            Tile(
                "People whose grants lapse within 30 days",
                lapsing,
                f"{reverse('privacy:user-list')}?lapsing=30",
                "warn" if lapsing else "",
            ),
        ],
    )
    return [expiring, people]


def auditor_home(*, user: Any, today: date) -> list[Section]:
    """The chain's state, and this week's denied attempts and break-glass uses, with exports."""
    status = audit_selectors.chain_status()
    last = status["last_run"]
    chain = Section("Audit chain")
    chain.rows = [
        {"label": "Last verification", "value": _verified(last)},
        {"label": "Signed checkpoints", "value": status["checkpoints"]},
        {"label": "Events awaiting their seal", "value": status["unsealed"]},
    ]
    week = (today - timedelta(days=6)).isoformat()
    browser = reverse("audit:browser")
    events = [
        ("Events today", {"start": today.isoformat(), "end": today.isoformat()}, ""),
        ("Denied attempts, 7 days", {"outcome": Outcome.DENIED, "start": week}, "alert"),
        ("Break-glass uses, 7 days", {"break_glass": "on", "start": week}, "warn"),
    ]
    chain.tiles = [
        Tile(label, _event_count(user, params), f"{browser}?{urlencode(params)}", tone)
        for label, params, tone in events
    ]
    return [chain]


def _verified(run: Any) -> str:
    if run is None:
        return "never"
    verdict = "intact" if run.ok else "BROKEN"
    return f"{timezone.localtime(run.started_at):%Y-%m-%d %H:%M}: {verdict}"


def _event_count(user: Any, params: dict[str, str]) -> int:
    """Events the audit browser lists under `params` (its own filter form and selector)."""
    form = EventFilterForm(QueryDict(urlencode(params)))
    data = form.cleaned_data if form.is_valid() else {}
    return int(audit_selectors.events_filtered(user=user, filters=data).count())


def verifier_home(*, user: Any, today: date) -> list[Section]:
    """Cases waiting on my agency, by status, with the working-day clocks that run first."""
    url = reverse("verification:case-list")
    waiting = verification_selectors.case_list_for_user(user=user)
    counts = dict(waiting.order_by().values_list("status").annotate(n=Count("id")))
    section = Section("Waiting on my agency")
    section.tiles = [
        Tile(label, counts.get(status, 0), f"{url}?status={status}", tone)
        for status, label, tone in (
            (VStatus.NEEDS_MORE_TIME, "Needs More Time", "warn"),
            (VStatus.REFERRED, "Referred", "warn"),
            (VStatus.CASE_IN_CONTINUANCE, "In continuance", ""),
        )
    ]
    escalated = verification_selectors.case_list_for_user(user=user, escalated=True).count()
    section.tiles.append(Tile("Escalated", escalated, f"{url}?escalated=on", "alert"))
    clocks = Section("Clocks running out first")
    for case in (
        waiting.filter(status__in=[VStatus.NEEDS_MORE_TIME, VStatus.REFERRED])
        .select_related(None)
        .only("id", "status", "nmt_due_on", "contact_due_on", "contacted_on")[: CLOCKS_SHOWN * 4]
    ):
        due = case.nmt_due_on if case.status == VStatus.NEEDS_MORE_TIME else case.contact_due_on
        if due is None or case.contacted_on:
            continue
        left = (
            working_days_between(today, due) if due >= today else -working_days_between(due, today)
        )
        clocks.rows.append(
            {"pk": case.pk, "status": case.get_status_display(), "due": due, "left": left}
        )
    clocks.rows = sorted(clocks.rows, key=lambda r: r["due"])[:CLOCKS_SHOWN]
    return [section, clocks]


def partner_home(*, user: Any, today: date) -> list[Section]:
    """What my agreements let me see and until when; my grants under them."""
    grants = list(privacy_selectors.grants_in_force(user=user))
    terms = Section("What my agreements let me see")
    seen = set()
    for g in grants:
        agreement = g.agreement
        if agreement is None or agreement.pk in seen:
            continue
        seen.add(agreement.pk)
        terms.rows.append(
            {
                "reference": agreement.reference,
                "title": agreement.title,
                "scope": ", ".join(
                    f"{category.replace('_', ' ')} ({', '.join(actions)})"
                    for category, actions in sorted(agreement.scope.items())
                ),
                "expires_on": agreement.expires_on,
                "days_left": (agreement.expires_on - today).days,
            }
        )
    terms.tiles = [
        Tile(
            "My grants under agreements in force",
            len(grants),
            f"{reverse('privacy:my-access')}?grants=in_force",
        )
    ]
    return [terms]


def is_partner(user: Any) -> bool:
    """An analyst of an agency that owns no cases, working under another agency's agreement."""
    return (
        user.has_role(Role.ANALYST)
        and not Case.objects.filter(owning_agency_id=user.agency_id).exists()
        and privacy_selectors.grants_in_force(user=user).exists()
    )


def home_sections(*, user: Any, today: date, since: datetime) -> dict[str, list[Section]]:
    """Each of the user's roles and what its home block shows."""
    out: dict[str, list[Section]] = {}
    case_work = bool(allowed_agency_ids(user, "view"))
    if is_partner(user):
        out["Partner analyst"] = partner_home(user=user, today=today)
        if case_work:
            out["Analyst"] = analyst_home(user=user, today=today, since=since)
    elif user.has_role(Role.ANALYST) and case_work:
        out["Analyst"] = analyst_home(user=user, today=today, since=since)
    if user.has_role(Role.SUPERVISOR):
        out["Supervisor"] = supervisor_home(user=user, today=today)
    if user.has_role(Role.ADMIN):
        out["Admin"] = admin_home(user=user)
    if user.has_role(Role.AUDITOR):
        out["Auditor"] = auditor_home(user=user, today=today)
    if user.has_role(Role.STATUS_VERIFIER):
        out["Status verifier"] = verifier_home(user=user, today=today)
    return out
