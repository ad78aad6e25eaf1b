"""The queue's hand-written page SQL answers exactly what `queue_queryset` (the ORM, over
`visible_to`) answers: same rows, same order, for every filter, sort and persona."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from cases.models import Case, CaseStatus
from cases.selectors import SORTS, QueueFilters, queue_page, queue_queryset
from cases.services import case_member_add, case_open_investigation
from privacy.policy import request_scope

FILTERS = [
    {},
    {"status": [CaseStatus.INVESTIGATING]},
    {"status": list(CaseStatus.values)},
    {"rule": "ssn.velocity"},
    {"severity": ["high", "low"]},
    {"score_min": 0.5},
    {"score_max": 0.5},
    {"employer": "acme"},
    {"employer": "Zenith%_\\"},
    {"state": "TX"},
    {"agency": "ice-hsi"},
    {"agency": "uscis"},
    {"assignee": "me"},
    {"assignee": "none"},
    {"age_min": 10},
    {"due": "overdue"},
    {"due": "today"},
    {"due": "week"},
    {"tag": "payroll"},
    {"q": "okaf"},
    {"q": "50%_"},
    {"snoozed": True},
    {"severity": ["high"], "tag": "payroll", "due": "week", "snoozed": True},
]


def _orm_ids(user, filters: QueueFilters, today) -> list[int]:
    column = SORTS[filters.sort][0]
    return list(
        queue_queryset(user=user, filters=filters, today=today)
        .order_by(column, "id")
        .values_list("pk", flat=True)
    )


@pytest.fixture
def mixed_cases(make_case, alice, bob, sam):
    """Cases that differ in every filtered column, one opened as an investigation with bob as member."""
    today = timezone.localdate()
    cases = [
        make_case(severity="high", score=0.9),
        make_case(severity="low", score=0.2, rule="ssn.velocity", family="ssn", last="Okafor"),
        make_case(severity="medium", score=0.5),
        make_case(severity="high", score=0.7, last="50%_ Smith"),
        make_case(severity="low", score=0.4),
    ]
    Case.objects.filter(pk=cases[0].pk).update(
        tags=["payroll"], assignee=alice, due_date=today, state="TX"
    )
    Case.objects.filter(pk=cases[1].pk).update(
        snoozed_until=today + timedelta(days=5), due_date=today - timedelta(days=2), priority=1
    )
    Case.objects.filter(pk=cases[2].pk).update(
        created_at=timezone.now() - timedelta(days=30),
        employer_name="Zenith%_\\ Corp",
        tags=["payroll"],
    )
    Case.objects.filter(pk=cases[3].pk).update(
        snoozed_until=today - timedelta(days=1), due_date=today + timedelta(days=6), assignee=sam
    )
    investigation = case_open_investigation(actor=alice, case=Case.objects.get(pk=cases[4].pk))
    case_member_add(actor=alice, case=investigation, user=bob)
    return cases


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default"
)
def test_the_page_sql_answers_what_the_orm_queryset_does(
    mixed_cases, alice, bob, sam, audrey, params
):
    today = timezone.localdate()
    seen = {}
    for sort in SORTS:
        filters = QueueFilters(**{**params, "sort": sort})
        for user in (alice, bob, sam, audrey):
            with request_scope():
                page = queue_page(user=user, filters=filters, today=today, size=1000)
                assert [c.pk for c in page.cases] == _orm_ids(user, filters, today), (
                    user.username,
                    params,
                    sort,
                )
                seen[user.username] = len(page.cases)
    if (
        not params
    ):  # the comparison is not of empty pages: the unit sees its flagged cases, bob none
        assert (seen["alice"], seen["sam"], seen["bob"], seen["audrey"]) == (3, 3, 0, 0)
    if params == {
        "status": [CaseStatus.INVESTIGATING]
    }:  # members only: the agent, bob added, the supervisor
        assert (seen["alice"], seen["bob"], seen["sam"], seen["audrey"]) == (1, 1, 1, 0)


def test_paging_by_keyset_walks_the_orm_order(mixed_cases, alice):
    today = timezone.localdate()
    for sort in SORTS:
        filters = QueueFilters(status=list(CaseStatus.values), snoozed=True, sort=sort)
        seen, after = [], ""
        while True:
            page = queue_page(user=alice, filters=filters, today=today, after=after, size=2)
            seen += [c.pk for c in page.cases]
            if not page.next_cursor:
                break
            after = page.next_cursor
        assert seen == _orm_ids(alice, filters, today), sort
        assert seen


def test_no_status_at_all_matches_nothing_as_in_the_orm(mixed_cases, alice):
    filters = QueueFilters(status=[])
    assert queue_page(user=alice, filters=filters, today=timezone.localdate()).cases == []
    assert _orm_ids(alice, filters, timezone.localdate()) == []


def test_an_assignee_by_id_and_the_rows_carry_the_assignee(mixed_cases, alice, sam):
    today = timezone.localdate()
    filters = QueueFilters(assignee=str(sam.pk), snoozed=True)
    page = queue_page(user=alice, filters=filters, today=today)
    assert [c.pk for c in page.cases] == _orm_ids(alice, filters, today) == [mixed_cases[3].pk]
    assert page.cases[0].assignee_username == "sam"


@pytest.mark.parametrize("bounds", [(2, 2), (3, 3), (0, 2), (3, None), (None, 2)])
def test_age_counts_by_the_local_day_a_case_was_flagged(make_case, alice, bounds):
    # Flagged a second before and at local midnight: ages 3 and 2 days, whatever UTC says.
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    moments = [
        datetime.combine(today - timedelta(days=3), time(23, 59, 59), tzinfo=zone),
        datetime.combine(today - timedelta(days=2), time(0, 0), tzinfo=zone),
        datetime.combine(today, time(0, 0), tzinfo=zone),
    ]
    cases = [make_case() for _ in moments]
    for case, moment in zip(cases, moments, strict=True):
        Case.objects.filter(pk=case.pk).update(created_at=moment)
    age_min, age_max = bounds
    expected = sorted(
        c.pk
        for c, moment in zip(cases, moments, strict=True)
        if (age_min is None or (today - timezone.localtime(moment).date()).days >= age_min)
        and (age_max is None or (today - timezone.localtime(moment).date()).days <= age_max)
    )
    filters = QueueFilters(age_min=age_min, age_max=age_max, sort="age")
    with request_scope():
        page = queue_page(user=alice, filters=filters, today=today, size=100)
    assert sorted(c.pk for c in page.cases) == expected
    assert sorted(_orm_ids(alice, filters, today)) == expected
