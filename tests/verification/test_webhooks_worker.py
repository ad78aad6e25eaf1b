"""Webhooks end to end: the outbox, the broker, a real Celery worker and a real local HTTP receiver.

The worker runs with a shortened clock (settings from its environment): retries start at 0.4 s
and the retry window is 4 s instead of 24 hours, the timeout is 1 s and answers are read up to
4 KiB. Everything else is as in production: the same tasks, the same sender, the same sockets.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.verification.conftest import i9, tnc
from tests.verification.webhook_receiver import Answer, Receiver, payload_identifiers, readme_verify
from tests.workers import celery_worker, stop_worker, wait_until
from verification import services
from verification.models import DeliveryState, WebhookDelivery
from verification.webhooks import services as hooks
from verification.webhooks.tasks import dispatch_due

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

BASE, WINDOW = 0.4, 4.0
WORKER_ENV = {
    "CROSSCHECK_WEBHOOK_RETRY_BASE_SECONDS": str(BASE),
    "CROSSCHECK_WEBHOOK_RETRY_WINDOW_SECONDS": str(WINDOW),
    "CROSSCHECK_WEBHOOK_TIMEOUT_SECONDS": "1",
    "CROSSCHECK_WEBHOOK_RESPONSE_MAX_BYTES": "4096",
}
ALL = [
    "case.status_changed",
    "case.further_action_notice_due",
    "case.referral_deadline",
    "case.closed",
]
PII = ["John", "Smith", "Maria", "Garcia", "521874390", "521-87-4390", "4390", "1990-04-12"]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()  # this run's own Redis db
        proc = celery_worker(None, "webhooks", env_extra=WORKER_ENV)
    yield proc
    stop_worker(proc)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def allowed(adam):
    return hooks.allowance_add(actor=adam, host="127.0.0.1", note="the tests' receiver")


@pytest.fixture
def acme_key(adam, employer):
    _, raw = services.apikey_issue(actor=adam, employer=employer, label="hr")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _headers_v1(header: str) -> list[str]:
    return [part for part in header.split(",") if part.startswith("v1=")]


def _delivery_done(pk: int, state: str = DeliveryState.SUCCEEDED):
    return lambda: WebhookDelivery.objects.filter(pk=pk, state=state).exists()


def _ping(client: APIClient, sub_id: int) -> int:
    response = client.post(f"/api/v1/webhooks/subscriptions/{sub_id}/ping/")
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def test_case_changes_arrive_signed_and_hold_no_personal_data(
    worker, receiver, allowed, acme_key, employer, other_employer, ssa
):
    created = acme_key.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": receiver.url("/acme"), "events": ALL},
        format="json",
    ).json()
    secret = created["secret"]
    hooks.subscription_create(
        actor=None, employer=other_employer, url=receiver.url("/other"), events=ALL
    )
    data = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in i9(first_name="John", last_name="Smith").items()
    }
    response = acme_key.post("/api/v1/cases/", data, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    assert response.json()["status"] == "tentative_nonconfirmation"
    theirs = tnc(other_employer)

    wait_until(lambda: len(receiver.received) >= 4, 60, "four deliveries")
    mine = [r for r in receiver.received if r.path == "/acme"]
    other = [r for r in receiver.received if r.path == "/other"]
    verify = readme_verify()
    assert {r.json["type"] for r in mine} == {
        "case.status_changed",
        "case.further_action_notice_due",
    }
    assert len({r.json["id"] for r in mine}) == 2  # one event id each
    for got in mine:
        assert verify(secret, got.headers["Crosscheck-Signature"], got.body)
        assert got.json["data"]["case"] == {"id": case_id, "status": "tentative_nonconfirmation"}
        assert got.headers["Crosscheck-Event-Id"] == got.json["id"]
        rest = payload_identifiers(got.body)
        for value in PII:
            assert value not in rest, value
    assert {r.json["data"]["case"]["id"] for r in other} == {theirs.pk}
    for got in other:  # another employer's events: not signed with our secret
        assert not verify(secret, got.headers["Crosscheck-Signature"], got.body)
    wait_until(
        lambda: WebhookDelivery.objects.filter(state="succeeded").count() == 4, 30, "recorded"
    )
    assert set(WebhookDelivery.objects.values_list("response_code", flat=True)) == {200}
    assert AuditEvent.objects.filter(action="webhook.delivery_attempted").count() == 4


def test_a_rotated_secret_signs_beside_the_old_one_during_the_overlap(
    worker, receiver, allowed, acme_key
):
    created = acme_key.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": receiver.url(), "events": ["case.closed"]},
        format="json",
    ).json()
    first, sub_id = created["secret"], created["id"]
    base = f"/api/v1/webhooks/subscriptions/{sub_id}/rotate-secret/"
    second = acme_key.post(base, {}, format="json").json()["secret"]
    _ping(acme_key, sub_id)
    wait_until(lambda: len(receiver.received) == 1, 30, "the ping in the overlap")
    verify = readme_verify()
    got = receiver.received[0]
    header = got.headers["Crosscheck-Signature"]
    assert len(_headers_v1(header)) == 2
    assert verify(first, header, got.body)  # a receiver not yet switched still verifies
    assert verify(second, header, got.body)

    third = acme_key.post(base, {"overlap_hours": 0}, format="json").json()["secret"]
    _ping(acme_key, sub_id)
    wait_until(lambda: len(receiver.received) == 2, 30, "the ping after the overlap")
    got = receiver.received[1]
    header = got.headers["Crosscheck-Signature"]
    assert len(_headers_v1(header)) == 1
    assert verify(third, header, got.body)
    assert not verify(second, header, got.body)
    assert not verify(first, header, got.body)


def test_a_failing_receiver_is_retried_with_growing_backoff_until_it_answers(
    worker, receiver, allowed, employer
):
    receiver.script.extend([Answer(500, b"boom 1"), Answer(500, b"boom 2"), Answer(200, b"ok")])
    sub, _ = hooks.subscription_create(
        actor=None, employer=employer, url=receiver.url(), events=ALL
    )
    pk = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get().pk
    wait_until(_delivery_done(pk), 30, "the third attempt to succeed")
    tries = list(WebhookDelivery.objects.get(pk=pk).tries.order_by("number"))
    assert [t.response_code for t in tries] == [500, 500, 200]
    assert tries[0].response_excerpt == "boom 1"
    # Waits of base * 2^(n-1), jittered between half and all of it.
    for n, (before, after) in enumerate(itertools.pairwise(tries), start=1):
        wait = (after.started_at - before.finished_at).total_seconds()
        assert wait >= BASE * 2 ** (n - 1) / 2 - 0.01, (n, wait)
        assert before.next_attempt_at is not None
    assert [r.headers["Crosscheck-Delivery-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert len({r.headers["Crosscheck-Event-Id"] for r in receiver.received}) == 1


def test_after_the_window_a_delivery_is_a_dead_letter_that_an_admin_replays(
    worker, receiver, allowed, employer, login, adam
):
    receiver.default = Answer(503, b"down for maintenance")
    sub, secret = hooks.subscription_create(
        actor=None, employer=employer, url=receiver.url(), events=ALL
    )
    dead = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get()
    wait_until(_delivery_done(dead.pk, DeliveryState.DEAD), 40, "the dead letter")
    dead.refresh_from_db()
    tries = list(dead.tries.order_by("number"))
    assert len(tries) >= 3
    assert {t.response_code for t in tries} == {503}
    assert (tries[-1].finished_at - dead.created_at).total_seconds() >= WINDOW
    assert all((t.finished_at - dead.created_at).total_seconds() < WINDOW for t in tries[:-1])
    assert tries[-1].next_attempt_at is None
    assert dead.response_excerpt == "down for maintenance"
    assert AuditEvent.objects.filter(
        action="webhook.delivery_dead_lettered", object_id=str(dead.pk)
    ).exists()
    seen = len(receiver.received)

    receiver.default = Answer(200, b"ok")
    admin = login(adam)
    listing = admin.get("/verification/webhooks/deliveries/?state=dead").content.decode()
    assert "down for maintenance" in listing
    assert ">503<" in listing
    assert admin.post(f"/verification/webhooks/deliveries/{dead.pk}/replay/").status_code == 302
    replay = WebhookDelivery.objects.get(replay_of=dead)
    wait_until(_delivery_done(replay.pk), 30, "the replay")
    assert len(receiver.received) == seen + 1
    got = receiver.received[-1]
    assert got.headers["Crosscheck-Event-Id"] == str(dead.event.event_id)
    assert readme_verify()(secret, got.headers["Crosscheck-Signature"], got.body)


def test_timeouts_and_oversized_answers_do_not_hold_the_worker(worker, receiver, allowed, employer):
    receiver.script.extend([Answer(delay=2.5), Answer(endless=True)])
    sub, _ = hooks.subscription_create(
        actor=None, employer=employer, url=receiver.url(), events=ALL
    )
    pk = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get().pk
    wait_until(_delivery_done(pk), 30, "the second attempt")
    slow, endless = WebhookDelivery.objects.get(pk=pk).tries.order_by("number")
    assert slow.error.startswith("Timed out after 1 s")
    assert slow.response_code is None
    assert endless.response_code == 200
    assert endless.truncated
    assert len(endless.response_excerpt) <= 1000
    wait_until(lambda: bool(receiver.streamed_bytes), 10, "the stream to be cut")
    assert receiver.streamed_bytes[0] < 200 * 1024 * 1024


def test_a_host_no_longer_allowed_is_refused_at_send_time_and_never_called(
    worker, receiver, allowed, employer, adam
):
    sub, _ = hooks.subscription_create(
        actor=None, employer=employer, url=receiver.url(), events=ALL
    )
    hooks.allowance_remove(actor=adam, allowance=allowed)
    pk = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get().pk
    wait_until(
        lambda: WebhookDelivery.objects.filter(pk=pk, attempts__gte=2).exists(), 30, "two tries"
    )
    errors = list(WebhookDelivery.objects.get(pk=pk).tries.values_list("error", flat=True))
    assert all("127.0.0.1, a loopback address" in e for e in errors), errors
    assert receiver.received == []
    hooks.subscription_delete(actor=None, subscription=sub)  # cancels the retries
    wait_until(_delivery_done(pk, DeliveryState.CANCELLED), 10, "the cancellation")
    deleted = AuditEvent.objects.get(action="webhook.subscription_deleted")
    assert deleted.detail["cancelled"] == 1


def test_the_sweep_resends_a_delivery_whose_worker_died_mid_attempt(
    worker, receiver, allowed, employer
):
    sub, _ = hooks.subscription_create(
        actor=None, employer=employer, url=receiver.url(), events=ALL
    )
    pk = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get().pk
    wait_until(_delivery_done(pk), 30, "the first delivery")
    # As a worker killed during an attempt leaves it: in flight, its lease run out, no message
    # left in Redis. Only the beat sweep can find it.
    past = timezone.now() - timedelta(seconds=5)
    WebhookDelivery.objects.filter(pk=pk).update(
        state=DeliveryState.RETRYING, leased_until=past, next_attempt_at=past
    )
    dispatch_due.delay()
    wait_until(_delivery_done(pk), 30, "the sweep to resend it")
    assert len(receiver.received) == 2
    assert receiver.received[0].json["id"] == receiver.received[1].json["id"]
