"""The home's cached case counts: served from the cache until any committed change to cases, per user.

These tests commit (transaction=True): inside a test's own transaction, the writes it made would
keep the cache out of play (a transaction that wrote cases neither reads nor fills it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.home_counts import _key, cached_counts, prune_change_log
from cases.models import Case
from cases.services import case_assign
from tests.cases.test_home import tiles

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _counted(queries) -> bool:
    """True when the request counted cases (a COUNT over cases_case), i.e. missed the cache."""
    return any("COUNT(" in q["sql"] and "cases_case" in q["sql"] for q in queries.captured_queries)


def _home(client):
    with CaptureQueriesContext(connection) as queries:
        found = tiles(client.get("/"))
    return found, _counted(queries)


def test_a_second_visit_is_served_from_the_cache(make_case, alice, login):
    case_assign(actor=alice, case=make_case(), assignee=alice)
    client = login(alice)
    first, counted = _home(client)
    assert counted
    second, counted = _home(client)
    assert not counted
    assert second == first


def test_a_service_write_shows_at_the_next_visit(make_case, alice, login):
    cases = [make_case() for _ in range(3)]
    case_assign(actor=alice, case=cases[0], assignee=alice)
    client = login(alice)
    assert _home(client)[0]["Unassigned"][0] == 2
    _home(client)  # cached now
    case_assign(actor=alice, case=cases[1], assignee=alice)
    found, counted = _home(client)
    assert counted
    assert found["Unassigned"][0] == 1


def test_a_write_that_bypasses_the_services_shows_too(make_case, alice, login):
    case = make_case()
    case_assign(actor=alice, case=case, assignee=alice)
    client = login(alice)
    assert _home(client)[0]["Overdue"][0] == 0
    _home(client)
    Case.objects.filter(pk=case.pk).update(due_date=timezone.localdate() - timedelta(days=3))
    assert _home(client)[0]["Overdue"][0] == 1


def test_a_change_still_uncommitted_is_not_served_to_others_and_a_rollback_leaves_no_trace(
    make_case, alice, login
):
    case_assign(actor=alice, case=make_case(), assignee=alice)
    client = login(alice)
    assert _home(client)[0]["Overdue"][0] == 0
    calls = []

    def compute():
        calls.append(1)
        return Case.objects.visible_to(alice).count()

    with transaction.atomic():
        Case.objects.update(due_date=timezone.localdate() - timedelta(days=3))
        # Inside the writing transaction: counted afresh, and not stored.
        assert cached_counts(user=alice, parts=("t",), compute=compute) == 1
        assert cached_counts(user=alice, parts=("t",), compute=compute) == 1
        assert len(calls) == 2
        transaction.set_rollback(True)
    assert _home(client)[0]["Overdue"][0] == 0


def test_counts_are_per_user(make_case, alice, bob, login):
    case_assign(actor=alice, case=make_case(), assignee=alice)
    make_case()
    alices = login(alice)
    assert _home(alices)[0]["Unassigned"][0] == 1
    bobs = login(bob)
    found, counted = _home(bobs)
    assert counted  # bob's counts are his own, not alice's cached ones
    assert found["Unassigned"][0] == 0


def test_an_entry_from_another_database_is_not_served(make_case, alice):
    make_case()
    calls = []

    def compute():
        calls.append(1)
        return Case.objects.visible_to(alice).count()

    assert cached_counts(user=alice, parts=("t",), compute=compute) == 1
    assert cached_counts(user=alice, parts=("t",), compute=compute) == 1
    assert len(calls) == 1
    # As if the database had been created afresh under the same name (a restore, a test run).
    key = _key(alice, ("t",))
    database, snapshot, value = cache.get(key)
    cache.set(key, (database + 1, snapshot, value))
    assert cached_counts(user=alice, parts=("t",), compute=compute) == 1
    assert len(calls) == 2


def test_without_redis_the_counts_are_counted(make_case, alice, settings):
    make_case()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    count = cached_counts(
        user=alice, parts=("t",), compute=lambda: Case.objects.visible_to(alice).count()
    )
    assert count == 1


def test_the_log_is_pruned_of_old_finished_transactions_only(make_case):
    make_case()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_change_log SET noted_at = now() - interval '7 hours'")
        old = cursor.rowcount
    assert old > 0
    make_case()
    removed = prune_change_log()
    with connection.cursor() as cursor:
        # What stays of the old rows belongs to transactions not older than the oldest one still
        # running on the cluster (another database's, possibly): those may still commit later.
        cursor.execute(
            "SELECT count(*) FILTER (WHERE noted_at < now() - interval '6 hours'),"
            " count(*) FILTER (WHERE noted_at < now() - interval '6 hours'"
            "                  AND xid < pg_snapshot_xmin(pg_current_snapshot())),"
            " count(*) FILTER (WHERE noted_at > now() - interval '1 hour')"
            " FROM cases_change_log"
        )
        kept_old, prunable, recent = cursor.fetchone()
    assert removed + kept_old == old
    assert prunable == 0
    assert recent >= 1
