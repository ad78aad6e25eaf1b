"""The case page's desk: SLA state, the due-process gate's steps, next actions, match levels."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cases import desk
from cases.explain import explanation
from cases.models import Case, CaseStatus
from core.calendar import add_working_days

pytestmark = pytest.mark.django_db


def test_the_sla_state_follows_the_due_date_in_working_days(make_case):
    case = make_case()
    today = date(2026, 12, 2)  # a Wednesday: the day before is a working day, whatever the date
    case.due_date = today - timedelta(days=1)
    assert desk.sla(case, today)["state"] == "overdue"
    assert desk.sla(case, today)["working_days"] < 0
    case.due_date = add_working_days(today, 1)
    assert desk.sla(case, today) == {"state": "soon", "label": "Due soon", "working_days": 1}
    case.due_date = add_working_days(today, 10)
    assert desk.sla(case, today)["state"] == "later"


def test_a_flagged_case_offers_triage_and_an_investigation_its_next_gate_step(make_case):
    case = make_case()
    labels = [a.label for a in desk.next_actions(case, is_supervisor=False)]
    assert labels[0] == "Open as investigation"
    case.status = CaseStatus.INVESTIGATING
    assert desk.next_actions(case, is_supervisor=False)[0].target == "request-verification"
    case.status = CaseStatus.CLOSED
    assert desk.next_actions(case, is_supervisor=False) == []


def test_the_gate_marks_what_is_done_and_what_comes_next(make_case, alice):
    case = make_case()
    today = timezone.localdate()
    states = [s.state for s in desk.gate_steps(case, today)]
    assert states == ["current", "", "", ""]
    case.verified_by = alice
    case.verified_at = timezone.now()
    case.notice_delivered_on = today
    case.contest_deadline = today + timedelta(days=30)
    assert [s.state for s in desk.gate_steps(case, today)] == [
        "complete",
        "complete",
        "current",
        "",
    ]
    case.contest_deadline = today
    assert [s.state for s in desk.gate_steps(case, today)][2:] == ["complete", "current"]


def test_match_levels_are_explained_in_words():
    assert explanation(field="last_name", submitted="GARCIA", reference="GARCIA") == "exact match"
    assert "typo" in explanation(field="last_name", submitted="GARCIA", reference="GARCIS")
    assert explanation(field="last_name", submitted="GARCIA", reference="NGUYEN") == "different"
    assert (
        explanation(field="date_of_birth", submitted="1990-04-03", reference="1990-03-04")
        == "day and month swapped"
    )
    assert explanation(field="first_name", submitted="", reference="ANA").startswith("missing")
    assert explanation(field="ssn", submitted="x", reference="y", level="one_off").startswith(
        "one keying slip"
    )


def test_the_case_page_shows_the_desk_and_keeps_withheld_values_unexplained(
    make_case, alice, login
):
    case = make_case()
    html = login(alice).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="sla-state"' in html
    assert 'href="#open-kind"' in html
    assert 'id="dlg-keys"' in html
    # alice holds no SSA identity grant here: the reference is withheld, so is its match level
    assert "withheld (outside your agreement)" in html
    assert "exact match" not in html
    assert Case.objects.filter(pk=case.pk).exists()
