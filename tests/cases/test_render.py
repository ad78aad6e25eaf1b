"""The queue's markup rendered in Python escapes every value, hides minimised fields, and matches
what Django's escaping would give."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils.html import escape as django_escape

from cases.render import checks_html, escape_all, options_html, queue_rows_html
from cases.selectors import QueueRow

TODAY = date(2026, 3, 10)


def _row(**kw) -> QueueRow:
    values = {
        "pk": 7,
        "number": "CC-2026-0000007",
        "status": "flagged",
        "priority": 2,
        "severity": "high",
        "score": 0.875,
        "subject_name": "Ana Garcia",
        "subject_last4": "1234",
        "employer_name": "Acme Builders",
        "state": "TX",
        "rule_codes": ["ssa.name_mismatch"],
        "tags": [],
        "due_date": TODAY - timedelta(days=1),
        "created_at": datetime(2026, 3, 1, 15, tzinfo=UTC),
        "has_new_evidence": False,
        "snoozed_until": None,
        "subject_key": "ssn:abc",
        "owning_agency_id": 1,
        "assignee_id": None,
        "assignee_username": None,
    }
    return QueueRow(**{**values, **kw})


ALL = {1: frozenset({"subject_name", "subject_last4", "employer_name"})}


def test_it_escapes_every_text_value_of_a_row():
    hostile = "<script>\"x\"&'y'</script>"
    html = queue_rows_html(
        [
            _row(
                subject_name=hostile,
                employer_name=hostile,
                rule_codes=[hostile, "ok"],
                tags=[hostile],
                assignee_username=hostile,
            )
        ],
        fields=ALL,
        today=TODAY,
    )
    assert "<script>" not in html
    assert html.count(django_escape(hostile)) == 5
    assert "<code>ok</code>" in html


def test_a_value_holding_a_nul_still_escapes_and_keeps_its_place():
    values = ["a\x00<b>", "<i>", "", "&"]
    assert escape_all(values) == [django_escape(v) for v in values]
    assert escape_all([]) == []


def test_minimised_fields_render_empty():
    html = queue_rows_html([_row()], fields={1: frozenset({"subject_last4"})}, today=TODAY)
    assert "Ana Garcia" not in html
    assert "Acme Builders" not in html
    assert "•••1234" in html


def test_the_row_shows_aging_due_state_score_and_badges():
    html = queue_rows_html(
        [
            _row(
                has_new_evidence=True,
                snoozed_until=TODAY + timedelta(days=3),
                tags=["payroll"],
                assignee_username="alice",
            )
        ],
        fields=ALL,
        today=TODAY,
    )
    assert 'class="case-row has-new"' in html
    assert "zz Mar 13" in html
    assert (
        '<td class="due overdue">Mar 9 <span class="visually-hidden">overdue</span>⚠</td>' in html
    )
    assert "<td>88%</td><td>9 d</td>" in html
    assert '<span class="tag">payroll</span>' in html
    assert "<td>alice</td>" in html


def test_option_lists_mark_the_selection_and_escape():
    assert (
        options_html([("a", "A"), ("b<", "B&")], ("b<",))
        == '<option value="a">A</option><option value="b&lt;" selected>B&amp;</option>'
    )
    assert checks_html(
        "status", [("flagged", "Flagged"), ("closed", "Disposition")], ["closed"]
    ) == (
        '<label class="check"><input type="checkbox" name="status" value="flagged"> Flagged</label>\n'
        '<label class="check"><input type="checkbox" name="status" value="closed" checked> Disposition</label>\n'
    )
