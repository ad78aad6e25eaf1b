"""Home pages: each role's counts, each a link to a list of exactly that many rows; bounded queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from cases.models import Case
from cases.services import case_assign
from privacy.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TILE = re.compile(
    r'<a href="([^"]+)" data-count="(\d+)"><span class="cc-tile__count">\d+</span> <span class="cc-tile__label">([^<]+)</span>'
)


def tiles(response) -> dict[str, tuple[int, str]]:
    """Label -> (count, url) of every tile on a home page."""
    html = response.content.decode()
    return {label: (int(n), url.replace("&amp;", "&")) for url, n, label in TILE.findall(html)}


def queue_rows(client, url: str) -> int:
    """Rows the queue lists at `url`, across its pages."""
    total = 0
    while url:
        html = client.get(url).content.decode()
        total += html.count('class="case-row')
        more = re.search(r'<a href="([^"]+)"[^>]*rel="next"', html)
        url = more.group(1).replace("&amp;", "&") if more else ""
    return total


def test_the_analysts_home_counts_my_cases_by_sla_state_and_links_to_them(make_case, alice, login):
    today = timezone.localdate()
    cases = [make_case() for _ in range(5)]
    for case in cases[:4]:
        case_assign(actor=alice, case=case, assignee=alice)
    Case.objects.filter(pk=cases[0].pk).update(due_date=today - timedelta(days=2))
    Case.objects.filter(pk=cases[1].pk).update(due_date=today)
    Case.objects.filter(pk=cases[2].pk).update(due_date=today + timedelta(days=40))
    Case.objects.filter(pk=cases[3].pk).update(due_date=today + timedelta(days=60))
    client = login(alice)
    found = tiles(client.get("/"))
    assert found["Overdue"][0] == 1
    assert found["Due soon"][0] == 1
    assert found["On time"][0] == 2
    assert found["Unassigned"][0] == 1
    for label in ("Overdue", "Due soon", "On time", "Unassigned"):
        count, url = found[label]
        assert queue_rows(client, url) == count, label


def test_new_since_my_last_visit_counts_what_came_after_my_previous_session(
    make_case, alice, login
):
    cache.delete(f"cases:home-seen:{alice.pk}")  # ids repeat across test runs; the cache does not
    earlier = make_case()
    # Visits are kept to the second (the link's precision): keep the first case clear of it.
    Case.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(hours=2))
    first = login(alice)
    assert tiles(first.get("/"))["New since my last visit"][0] == 1  # a day back on a first visit
    make_case()
    # A new session (a second sign-in would reuse the TOTP code, which is refused): "new" counts
    # from the previous session's last visit.
    session = first.session
    del session["cases_home_since"]
    session.save()
    again = first
    count, url = tiles(again.get("/"))["New since my last visit"]
    assert count == 1
    assert queue_rows(again, url) == 1


def test_an_analyst_of_another_unit_sees_none_of_those_cases(make_case, bob, login):
    make_case()
    found = tiles(login(bob).get("/"))
    assert found["Unassigned"][0] == 0
    assert found["New since my last visit"][0] == 0


def test_the_supervisors_home_shows_sign_offs_backlog_and_analysts(make_case, alice, sam, login):
    cases = [make_case() for _ in range(3)]
    case_assign(actor=alice, case=cases[0], assignee=alice)
    Case.objects.filter(pk=cases[1].pk).update(proposed_closure="administrative_action")
    Case.objects.filter(pk=cases[2].pk).update(created_at=timezone.now() - timedelta(days=20))
    client = login(sam)
    found = tiles(client.get("/"))
    assert found["Dispositions awaiting sign-off"][0] == 1
    assert found["15-30 d"][0] == 1
    assert found["0-2 d"][0] == 2
    assert found["Unassigned"][0] == 2
    assert found[alice.get_full_name()][0] == 1
    for label in ("Dispositions awaiting sign-off", "15-30 d", "0-2 d", alice.get_full_name()):
        count, url = found[label]
        assert queue_rows(client, url) == count, label


@pytest.mark.parametrize("persona", ["alice", "sam", "adam", "audrey", "vera", "petra"])
def test_a_home_page_costs_a_bounded_number_of_queries(
    persona, request, make_case, login, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)
    for _ in range(3):
        make_case()
    client = login(user)
    client.get("/")
    for _ in range(4):  # more data of every kind must not cost more queries
        colleague = UserFactory(unit=user.unit, roles=[Role.ANALYST])
        case = make_case()
        if persona in ("alice", "sam"):
            case_assign(actor=user, case=case, assignee=colleague)
    with django_assert_max_num_queries(40):
        response = client.get("/")
    assert response.status_code == 200


def test_each_role_sees_its_own_blocks(adam, audrey, vera, petra, login):
    assert "Within 30 days" in tiles(login(adam).get("/"))
    auditor = tiles(login(audrey).get("/"))
    assert "Denied attempts, 7 days" in auditor
    assert "Overdue" not in auditor
    assert "Needs More Time" in tiles(login(vera).get("/"))
    assert "My grants under agreements in force" in tiles(login(petra).get("/"))


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
