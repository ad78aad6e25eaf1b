"""The per-key rate limit under load: atomic across threads, a sliding window, refusals audited once."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache

from audit.models import AuditEvent
from tests.verification.test_api_keys import client_for
from verification import services, throttling

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_rate_counts():
    cache.clear()
    yield
    cache.clear()


def test_concurrent_requests_never_take_more_than_the_rate(adam, employer):
    # Eight threads race for 50 slots: a read-then-write count lets two of them take one slot.
    key, _ = services.apikey_issue(actor=adam, employer=employer, label="k", rate_per_minute=50)
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        mine = [throttling.take(key)[0] for _ in range(25)]
        allowed.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 200
    assert allowed.count(True) == 50


def test_a_slot_frees_when_the_oldest_request_leaves_the_window(adam, employer, monkeypatch):
    monkeypatch.setattr(throttling, "WINDOW_SECONDS", 1)
    key, _ = services.apikey_issue(actor=adam, employer=employer, label="k", rate_per_minute=2)
    assert throttling.take(key)[0]
    time.sleep(0.5)
    assert throttling.take(key)[0]
    allowed, wait, first = throttling.take(key)
    assert (allowed, first) == (False, True)
    assert 0 < wait <= 0.5  # until the first request is a second old
    assert throttling.take(key)[:1] == (False,)
    time.sleep(wait + 0.05)
    assert throttling.take(key)[0]
    assert not throttling.take(key)[0]  # the second one is still counted


def test_a_key_refused_many_times_is_audited_once_per_window(adam, employer):
    client = client_for(adam, employer, rate_per_minute=2)
    codes = [client.get("/api/v1/key/").status_code for _ in range(6)]
    assert codes == [200, 200, 429, 429, 429, 429]
    assert AuditEvent.objects.filter(action="apikey.throttled").count() == 1


def test_keys_are_counted_apart_and_refusals_are_not_counted(adam, employer):
    first, _ = services.apikey_issue(actor=adam, employer=employer, label="a", rate_per_minute=1)
    second, _ = services.apikey_issue(actor=adam, employer=employer, label="b", rate_per_minute=1)
    assert throttling.take(first)[0]
    for _ in range(5):
        assert not throttling.take(first)[0]
    assert throttling.take(second)[0]
    assert cache._cache.get_client().zcard(cache.make_key(f"apikey-rate:{first.pk}")) == 1
