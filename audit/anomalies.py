"""Anomaly rules over the audit trail, each with its explanation (AU-6).

Every rule reads a window of events and returns flags: which user, which events, and a sentence
that says why, in the terms of the rule. Thresholds are settings (settings.AUDIT_ANOMALY).

Access outside assignments needs to know who is assigned to whom, which the cases app knows and
audit must not import. Feed it either way:

* settings.AUDIT_ASSIGNMENT_RESOLVER = "cases.selectors.audit_assigned_subjects", or
* `audit.anomalies.register_assignment_resolver(fn)` from the owning app's AppConfig.ready,

where `fn(*, user_id: int, subjects: set[str]) -> set[str]` returns the subset of `subjects` (as
recorded in events, e.g. "person:42") that the user is assigned to at present. Without one, the
rule is off and says so.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.models import AuditEvent, Outcome
from audit.services import search_hmac
from core.calendar import is_working_day

AssignmentResolver = Callable[..., set[str]]
# How events name a person: by SSN blind index (cases, crossref), by verification worker id, or
# by a generic person reference. Employers are not people and are left out of this rule.
PERSON_PREFIXES = ("person:", "ssn:", "worker:")
_resolvers: list[AssignmentResolver] = []

RULES: dict[str, str] = {
    "volume": "Far more events in the window than this user's own baseline (their average per day over the previous weeks).",
    "outside_assignment": "Read people who are not in any case, lead or unit queue assigned to this user.",
    "after_hours_burst": "Many events in a few minutes outside working hours (nights, weekends, federal holidays).",
    "break_glass": "Used break-glass access outside their assignments; every use is reviewed.",
    "repeated_denials": "Was refused several times within an hour: probing for data they may not see.",
    "reveals_above_norm": "Revealed full identifiers far more often than the median user of their agency.",
    "own_surname_search": "Searched for a surname they share: possibly looking up themselves or family.",
}


@dataclass
class Flag:
    """One anomaly: a rule, the user, the events behind it, and why."""

    rule: str
    user_id: int | None
    username: str
    agency: str
    event_ids: list[int] = field(default_factory=list)
    explanation: str = ""

    @property
    def rule_text(self) -> str:
        """The rule's general explanation."""
        return RULES[self.rule]


def register_assignment_resolver(resolver: AssignmentResolver) -> None:
    """Let an app tell the outside-assignment rule who is assigned to whom."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def _resolver() -> AssignmentResolver | None:
    path = getattr(settings, "AUDIT_ASSIGNMENT_RESOLVER", "")
    if path:
        resolver: Callable[..., set[str]] = import_string(path)
        return resolver
    return _resolvers[-1] if _resolvers else None


def _cfg(name: str) -> Any:
    return settings.AUDIT_ANOMALY[name]


def _window(qs: Any, start: datetime, end: datetime) -> Any:
    return qs.filter(occurred_at__gte=start, occurred_at__lt=end)


def volume(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Users whose count in the window is far above their own daily average."""
    days = int(_cfg("BASELINE_DAYS"))
    window_days = max((end - start) / timedelta(days=1), 1 / 24)
    counts = (
        _window(events, start, end)
        .exclude(actor_id=None)
        .values("actor_id", "actor_username", "actor_agency")
        .annotate(n=Count("id"))
    )
    flags = []
    for row in counts:
        if row["n"] < _cfg("VOLUME_MIN_EVENTS"):
            continue
        history = _window(
            AuditEvent.objects.filter(actor_id=row["actor_id"]), start - timedelta(days=days), start
        ).count()
        baseline = history / days * window_days
        if row["n"] > _cfg("VOLUME_FACTOR") * baseline:
            last = (
                _window(events, start, end)
                .filter(actor_id=row["actor_id"])
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
            flags.append(
                Flag(
                    "volume",
                    row["actor_id"],
                    row["actor_username"],
                    row["actor_agency"],
                    [last],
                    f"{row['n']} events against a baseline of {baseline:.0f} for the same length of time "
                    f"(factor {_cfg('VOLUME_FACTOR')}, floor {_cfg('VOLUME_MIN_EVENTS')}).",
                )
            )
    return flags


def outside_assignment(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Reads of people the user is not assigned to, other than break-glass (flagged on its own)."""
    resolver = _resolver()
    if resolver is None:
        return []
    by_user: dict[int, list[tuple[int, list[str], str, str]]] = defaultdict(list)
    rows = (
        _window(events, start, end)
        .filter(outcome=Outcome.ALLOWED, break_glass=False)
        .exclude(subjects=[])
        .exclude(actor_id=None)
    )
    for event_id, actor_id, subjects, username, agency in rows.values_list(
        "id", "actor_id", "subjects", "actor_username", "actor_agency"
    ):
        by_user[actor_id].append((event_id, subjects, username, agency))
    flags = []
    for actor_id, items in by_user.items():
        everyone = {
            s for _, subjects, _, _ in items for s in subjects if s.startswith(PERSON_PREFIXES)
        }
        if not everyone:
            continue
        assigned = resolver(user_id=actor_id, subjects=everyone)
        for event_id, subjects, username, agency in items:
            outside = sorted(
                s for s in subjects if s.startswith(PERSON_PREFIXES) and s not in assigned
            )
            if outside:
                flags.append(
                    Flag(
                        "outside_assignment",
                        actor_id,
                        username,
                        agency,
                        [event_id],
                        f"Read {len(outside)} of {len(subjects)} people outside their assignments: {', '.join(outside[:5])}.",
                    )
                )
    return flags


def _after_hours_test() -> Callable[[datetime], bool]:
    """Whether a moment falls outside working hours (or on a non-working day), in the local time zone.

    The time zone, the hours and each date's answer are looked up once per call of the rule, not
    once per event: the rule reads every event of its window.
    """
    tz = timezone.get_current_timezone()
    first, last = int(_cfg("WORKDAY_START_HOUR")), int(_cfg("WORKDAY_END_HOUR"))
    working: dict[Any, bool] = {}

    def after_hours(moment: datetime) -> bool:
        local = moment.astimezone(tz)
        day = local.date()
        if day not in working:
            working[day] = is_working_day(day)
        return not working[day] or not (first <= local.hour < last)

    return after_hours


def after_hours_burst(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Bursts of events after hours: N or more within the burst window."""
    width = timedelta(minutes=int(_cfg("BURST_WINDOW_MINUTES")))
    threshold = int(_cfg("AFTER_HOURS_BURST"))
    after_hours = _after_hours_test()
    per_user: dict[int, list[tuple[datetime, int, str, str]]] = defaultdict(list)
    for event_id, actor_id, when, username, agency in (
        _window(events, start, end)
        .exclude(actor_id=None)
        .order_by("occurred_at")
        .values_list("id", "actor_id", "occurred_at", "actor_username", "actor_agency")
    ):
        if after_hours(when):
            per_user[actor_id].append((when, event_id, username, agency))
    flags = []
    for actor_id, items in per_user.items():
        lo = 0
        for hi in range(len(items)):
            while items[hi][0] - items[lo][0] > width:
                lo += 1
            if hi - lo + 1 >= threshold:
                burst = items[lo : hi + 1]
                local = timezone.localtime(burst[0][0])
                flags.append(
                    Flag(
                        "after_hours_burst",
                        actor_id,
                        burst[0][2],
                        burst[0][3],
                        [burst[-1][1]],
                        f"{len(burst)} events within {width.seconds // 60} minutes from {local:%a %Y-%m-%d %H:%M}, outside working hours.",
                    )
                )
                break
    return flags


def break_glass(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Every break-glass use."""
    return [
        Flag(
            "break_glass",
            actor_id,
            username,
            agency,
            [event_id],
            f"Break-glass with justification: “{(justification or '')[:200]}”.",
        )
        for event_id, actor_id, username, agency, justification in _window(events, start, end)
        .filter(break_glass=True)
        .values_list("id", "actor_id", "actor_username", "actor_agency", "justification")
    ]


def repeated_denials(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """N or more denials within one hour, per user."""
    threshold = int(_cfg("DENIALS"))
    per_user: dict[int, list[tuple[datetime, int, str, str]]] = defaultdict(list)
    for event_id, actor_id, when, username, agency in (
        _window(events, start, end)
        .filter(outcome=Outcome.DENIED)
        .exclude(actor_id=None)
        .order_by("occurred_at")
        .values_list("id", "actor_id", "occurred_at", "actor_username", "actor_agency")
    ):
        per_user[actor_id].append((when, event_id, username, agency))
    flags = []
    for actor_id, items in per_user.items():
        lo = 0
        for hi in range(len(items)):
            while items[hi][0] - items[lo][0] > timedelta(hours=1):
                lo += 1
            if hi - lo + 1 >= threshold:
                flags.append(
                    Flag(
                        "repeated_denials",
                        actor_id,
                        items[hi][2],
                        items[hi][3],
                        [items[hi][1]],
                        f"{hi - lo + 1} denied attempts within an hour (threshold {threshold}).",
                    )
                )
                break
    return flags


def _is_reveal(action: str) -> bool:
    return any(action.endswith(suffix) for suffix in settings.AUDIT_REVEAL_ACTION_SUFFIXES)


def reveals_above_norm(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Identifier reveals per user against the median of the agency's revealing users."""
    suffixes = settings.AUDIT_REVEAL_ACTION_SUFFIXES
    reveal_q = Q()
    for suffix in suffixes:
        reveal_q |= Q(action__endswith=suffix)
    rows = list(
        _window(events, start, end)
        .filter(reveal_q, outcome=Outcome.ALLOWED)
        .exclude(actor_id=None)
        .values("actor_id", "actor_username", "actor_agency")
        .annotate(n=Count("id"))
    )
    per_agency: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        per_agency[row["actor_agency"]].append(row["n"])
    flags = []
    for row in rows:
        norm = statistics.median(per_agency[row["actor_agency"]])
        if row["n"] >= _cfg("REVEALS_MIN") and row["n"] > _cfg("REVEALS_FACTOR") * norm:
            last = (
                _window(events, start, end)
                .filter(reveal_q, actor_id=row["actor_id"])
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
            flags.append(
                Flag(
                    "reveals_above_norm",
                    row["actor_id"],
                    row["actor_username"],
                    row["actor_agency"],
                    [last],
                    f"{row['n']} reveals; the median of {len(per_agency[row['actor_agency']])} revealing users of {row['actor_agency'] or 'their agency'} is {norm:g}.",
                )
            )
    return flags


def own_surname_search(events: Any, start: datetime, end: datetime) -> list[Flag]:
    """Searches whose surname HMAC equals the HMAC of the searcher's own surname."""
    rows = list(
        _window(events, start, end)
        .filter(search_kind__in=["surname", "last_name"])
        .exclude(actor_id=None)
        .values_list(
            "id", "actor_id", "actor_username", "actor_agency", "search_kind", "search_hmac"
        )
    )
    if not rows:
        return []
    surnames = dict(
        get_user_model().objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "last_name")
    )
    flags = []
    for event_id, actor_id, username, agency, kind, digest in rows:
        surname = surnames.get(actor_id) or ""
        if surname and digest == search_hmac(kind=kind, value=surname):
            flags.append(
                Flag(
                    "own_surname_search",
                    actor_id,
                    username,
                    agency,
                    [event_id],
                    "The searched surname's keyed hash equals the hash of the user's own surname.",
                )
            )
    return flags


ALL_RULES: dict[str, Callable[[Any, datetime, datetime], list[Flag]]] = {
    "volume": volume,
    "outside_assignment": outside_assignment,
    "after_hours_burst": after_hours_burst,
    "break_glass": break_glass,
    "repeated_denials": repeated_denials,
    "reveals_above_norm": reveals_above_norm,
    "own_surname_search": own_surname_search,
}


def flags_for(
    *, start: datetime, end: datetime, events: Any = None, rules: list[str] | None = None
) -> list[Flag]:
    """Every rule's flags over [start, end) (optionally over an already-scoped queryset)."""
    scoped = AuditEvent.objects.all() if events is None else events
    found: list[Flag] = []
    for name in rules or list(ALL_RULES):
        found.extend(ALL_RULES[name](scoped, start, end))
    return found


def assignment_rule_active() -> bool:
    """Whether an app has told the outside-assignment rule who is assigned to whom."""
    return _resolver() is not None
