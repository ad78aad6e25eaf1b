"""The queue's rows rendered in Python: the one hot loop of the busiest page.

Fifty rows of thirteen cells cost ~30 ms in the template engine and ~1 ms here. Every value is
escaped (quotes included); the markup is the same as the template's would be.
"""

from __future__ import annotations

from html import escape as _escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe


def escape(value: Any) -> str:
    """HTML-escape a value (the same characters as Django's `escape`, without its lazy wrapper)."""
    return _escape(str(value), quote=True)


def queue_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    """The <tr>s of the queue table."""
    out = []
    for r in rows:
        rid = int(r["id"])
        url = escape(r["url"])
        number = escape(r["number"])
        new = ' <span class="badge new" title="New evidence">new</span>' if r["new"] else ""
        snoozed = f' <span class="badge" title="Snoozed">zz {escape(r["snoozed"])}</span>' if r["snoozed"] else ""
        last4 = f' <span class="mask">{escape(r["last4"])}</span>' if r["last4"] else ""
        rules = "".join(f"<code>{escape(c)}</code> " for c in r["rules"])
        tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in r["tags"])
        overdue = ' <span class="visually-hidden">overdue</span>⚠' if r["due_state"] == "overdue" else ""
        out.append(
            f'<tr data-id="{rid}" data-href="{url}" class="case-row{" has-new" if r["new"] else ""}">'
            f'<td><input type="checkbox" class="row-select" value="{rid}" id="sel-{rid}" aria-label="Select case {number}"></td>'
            f'<td class="num"><a href="{url}" class="case-link">{number}</a>{new}{snoozed}</td>'
            f'<td><span class="prio prio-{int(r["priority"])}">P{int(r["priority"])}</span></td>'
            f'<td>{escape(r["subject"])}{last4}</td><td>{escape(r["employer"])}</td><td>{escape(r["state"])}</td>'
            f'<td class="rules">{rules}</td><td><span class="badge sev-{escape(r["severity"])}">{escape(r["severity"])}</span></td>'
            f'<td>{escape(r["score"])}</td><td>{int(r["age"])} d</td>'
            f'<td class="due {escape(r["due_state"])}">{escape(r["due"])}{overdue}</td>'
            f'<td>{escape(r["assignee"])}</td><td>{tags}</td></tr>\n'
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
