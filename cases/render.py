"""The queue page's repeated markup rendered in Python: the hot loops of the busiest page.

Fifty rows of thirteen cells cost ~30 ms in the template engine and well under 1 ms here, and
the filter sidebar's option lists (statuses, rules, severities, assignees, sorts, reasons) cost
a few ms more as `{% for %}`/`{% if %}` nodes. Every value is escaped (quotes included) with
the same characters as Django's `escape`; the markup is the same as the templates' would be.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from functools import lru_cache
from html import escape as _escape
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

_SEP = "\x00"  # PostgreSQL text never holds NUL, so it cannot occur inside a value


def escape(value: Any) -> str:
    """HTML-escape a value (the same characters as Django's `escape`, without its lazy wrapper)."""
    return _escape(str(value), quote=True)


def escape_all(values: list[str]) -> list[str]:
    """Escape many strings in one pass: join, escape once, split (per value if one holds NUL)."""
    if not values:
        return []
    joined = _SEP.join(values)
    if joined.count(_SEP) != len(values) - 1:
        return [_escape(v, quote=True) for v in values]
    return _escape(joined, quote=True).split(_SEP)


def options_html(choices: Iterable[tuple[Any, Any]], selected: Collection[str] = ()) -> SafeString:
    """`<option>`s of (value, label) pairs, `selected` where the value is in `selected`."""
    pairs = [(str(v), str(label)) for v, label in choices]
    flat = escape_all([x for pair in pairs for x in pair])
    out = []
    for i, (value, _label) in enumerate(pairs):
        sel = " selected" if value in selected else ""
        out.append(f'<option value="{flat[2 * i]}"{sel}>{flat[2 * i + 1]}</option>')
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703 # every value above is escaped


def checks_html(
    name: str, choices: Iterable[tuple[Any, Any]], checked: Collection[str] = ()
) -> SafeString:
    """Labelled checkboxes named `name`, one per (value, label), checked where in `checked`."""
    out = []
    for value, label in choices:
        v = str(value)
        mark = " checked" if v in checked else ""
        out.append(
            f'<label class="check"><input type="checkbox" name="{escape(name)}" value="{escape(v)}"{mark}> {escape(label)}</label>\n'
        )
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703 # every value above is escaped


_URL_NAMES = {
    "queue": ("cases:queue", ()),
    "bulk": ("cases:bulk", ()),
    "next": ("cases:next", ()),
    "dashboard": ("cases:dashboard", ()),
    "export": ("cases:export", ()),
    "view_save": ("cases:view-save", ()),
    "detail": ("cases:detail", (0,)),
}
# A URL reversed with the id 0 gives a prefix to which the rows append their id and "/"; that only
# works for a path that ends in its id (a saved view's delete URL does not: its template reverses it).
_ID_PLACEHOLDER = "/0/"


@lru_cache(maxsize=16)
def _urls(prefix: str, urlconf: Any) -> dict[str, str]:
    urls = {}
    for key, (name, args) in _URL_NAMES.items():
        url = reverse(name, args=args)
        if args:
            if not url.endswith(_ID_PLACEHOLDER):
                raise ValueError(f"{name} does not end in its id: {url}")
            url = url[: -len(_ID_PLACEHOLDER) + 1]  # keep the "/" before the id
        urls[key] = url
    return urls


def queue_urls() -> dict[str, str]:
    """The queue page's URLs, reversed once per script prefix and URLconf (not per request)."""
    return _urls(get_script_prefix(), get_urlconf())


def _due_state(due: date, today: date) -> str:
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    return "soon" if (due - today).days <= 3 else ""


def queue_rows_html(
    cases: list[Any], *, fields: Mapping[int, Collection[str]], today: date
) -> SafeString:
    """The <tr>s of the queue table, from `selectors.QueueRow`s.

    `fields` maps each owning agency to the fields its cases may show to this user (field
    minimisation): a hidden subject name, last four or employer renders as empty.
    """
    detail = queue_urls()["detail"]
    tz = timezone.get_current_timezone()
    days: dict[date, str] = {}  # "Mar 4" per date: a page holds few distinct dates

    def day(d: date) -> str:
        if d not in days:
            days[d] = d.strftime("%b %-d")
        return days[d]

    # One escape pass over every text value of the page: 8 per row, then its rules and tags.
    texts: list[str] = []
    for c in cases:
        shown = fields[c.owning_agency_id]
        texts += [
            c.number,
            day(c.snoozed_until) if c.snoozed_until and c.snoozed_until > today else "",
            c.subject_name if "subject_name" in shown else "",
            f"•••{c.subject_last4}" if "subject_last4" in shown and c.subject_last4 else "",
            c.employer_name if "employer_name" in shown else "",
            c.state,
            c.severity,
            c.assignee_username or "—",
        ]
        texts += c.rule_codes
        texts += c.tags
    esc = escape_all(texts)
    out = []
    at = 0
    for c in cases:
        number, snoozed, subject, last4, employer, state, severity, assignee = esc[at : at + 8]
        at += 8
        rules = "".join(f"<code>{code}</code> " for code in esc[at : at + len(c.rule_codes)])
        at += len(c.rule_codes)
        tags = "".join(f'<span class="tag">{t}</span>' for t in esc[at : at + len(c.tags)])
        at += len(c.tags)
        rid = int(c.pk)
        url = f"{detail}{rid}/"
        new = (
            ' <span class="badge new" title="New evidence">new</span>' if c.has_new_evidence else ""
        )
        snoozed = f' <span class="badge" title="Snoozed">zz {snoozed}</span>' if snoozed else ""
        last4 = f' <span class="mask">{last4}</span>' if last4 else ""
        due_state = _due_state(c.due_date, today)
        overdue = ' <span class="visually-hidden">overdue</span>⚠' if due_state == "overdue" else ""
        priority = int(c.priority)
        age = (today - c.created_at.astimezone(tz).date()).days
        out.append(
            f'<tr data-id="{rid}" data-href="{url}" class="case-row{" has-new" if c.has_new_evidence else ""}">'
            f'<td><input type="checkbox" class="row-select" value="{rid}" id="sel-{rid}" aria-label="Select case {number}"></td>'
            f'<td class="num"><a href="{url}" class="case-link">{number}</a>{new}{snoozed}</td>'
            f'<td><span class="prio prio-{priority}">P{priority}</span></td>'
            f"<td>{subject}{last4}</td><td>{employer}</td><td>{state}</td>"
            f'<td class="rules">{rules}</td><td><span class="badge sev-{severity}">{severity}</span></td>'
            f"<td>{c.score * 100:.0f}%</td><td>{age} d</td>"
            f'<td class="due {due_state}">{day(c.due_date)}{overdue}</td>'
            f"<td>{assignee}</td><td>{tags}</td></tr>\n"
        )
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703 # every value above is escaped
