"""Webhooks in one process: the API, the outbox, the address rule, the sender against a real receiver.

Deliveries here are attempted in the test's own process (`delivery.attempt`, the function the
Celery task calls) against a real local HTTP server; test_webhooks_worker.py sends them through
the broker and a real worker.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.calendar import add_working_days
from tests.verification.conftest import create, i9, referred, tnc
from tests.verification.webhook_receiver import (
    Answer,
    Receiver,
    payload_identifiers,
    readme_verify,
)
from tests.workers import wait_until
from verification import services
from verification.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from verification.webhooks import delivery, network, outbox, signing
from verification.webhooks import services as hooks

pytestmark = pytest.mark.django_db
ALL = [
    "case.status_changed",
    "case.further_action_notice_due",
    "case.referral_deadline",
    "case.closed",
]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def local_allowed(adam):
    return hooks.allowance_add(actor=adam, host="127.0.0.1", note="the tests' own receiver")


def api(key):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw}")
    return c


@pytest.fixture
def acme_key(adam, employer):
    key, raw = services.apikey_issue(actor=adam, employer=employer, label="hr")
    key.raw = raw
    return key


@pytest.fixture
def other_key(adam, other_employer):
    key, raw = services.apikey_issue(actor=adam, employer=other_employer, label="hr")
    key.raw = raw
    return key


def subscribe(employer, url, events=ALL, actor=None):
    return hooks.subscription_create(actor=actor, employer=employer, url=url, events=events)


# --- Subscriptions over the API ---------------------------------------------------------------


def test_a_subscription_shows_its_secret_once_and_stores_it_encrypted(
    acme_key, receiver, local_allowed
):
    response = api(acme_key).post(
        "/api/v1/webhooks/subscriptions/",
        {"url": receiver.url(), "events": ["case.closed", "case.status_changed"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert "no-store" in response["Cache-Control"]
    sub = WebhookSubscription.objects.get(pk=created["id"])
    assert sub.employer_id == acme_key.employer_id
    assert secret not in sub.secret_enc
    assert secret[6:20] not in sub.secret_enc
    assert signing.signing_secrets(sub) == [secret]
    listed = api(acme_key).get("/api/v1/webhooks/subscriptions/").json()
    assert [s["id"] for s in listed] == [sub.pk]
    assert "secret" not in listed[0]
    assert "secret" not in api(acme_key).get(f"/api/v1/webhooks/subscriptions/{sub.pk}/").json()
    event = AuditEvent.objects.get(action="webhook.subscription_created")
    assert event.api_key_id == acme_key.pk
    assert secret not in json.dumps(event.detail)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["case.closed"]}, "url"),
        ({"url": "", "events": ["case.closed"]}, "url"),
        ({"url": "ftp://8.8.8.8/x", "events": ["case.closed"]}, "url"),
        ({"url": "not a url", "events": ["case.closed"]}, "url"),
        ({"url": "https://user:pw@8.8.8.8/x", "events": ["case.closed"]}, "url"),
        ({"url": "http://8.8.8.8/x", "events": ["case.closed"]}, "url"),  # https required
        ({"url": "https://no-such-host.invalid/x", "events": ["case.closed"]}, "url"),
        ({"url": "https://8.8.8.8/x"}, "events"),
        ({"url": "https://8.8.8.8/x", "events": []}, "events"),
        ({"url": "https://8.8.8.8/x", "events": ["case.exploded"]}, "events"),
        ({"url": "https://8.8.8.8/x", "events": "case.closed"}, "events"),
        ({"url": "https://8.8.8.8/x", "events": ["ping"]}, "events"),
        (
            {
                "url": "https://8.8.8.8/x",
                "events": ["case.closed"],
                "description": "SSN 521-87-4390",
            },
            "description",
        ),
        ({"url": "https://8.8.8.8/x", "events": ["case.closed"], "employer": 1}, "employer"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(acme_key, body, field):
    response = api(acme_key).post("/api/v1/webhooks/subscriptions/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not WebhookSubscription.objects.exists()


def test_a_public_https_address_is_accepted_and_the_same_url_twice_is_refused(acme_key):
    body = {"url": "https://8.8.8.8/hooks", "events": ["case.closed"]}
    assert (
        api(acme_key).post("/api/v1/webhooks/subscriptions/", body, format="json").status_code
        == 201
    )
    again = api(acme_key).post("/api/v1/webhooks/subscriptions/", body, format="json")
    assert again.status_code == 400
    assert "url" in again.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1:8443/hooks", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://[::1]:8443/hooks", "loopback"),
        ("https://localhost/hooks", "loopback"),  # a name resolving to loopback
        ("https://2130706433/hooks", "loopback"),  # 127.0.0.1 written as one number
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),  # IPv4-mapped IPv6
        ("https://[2002:7f00:1::1]/hooks", "loopback"),  # 6to4 around 127.0.0.1
        ("https://[64:ff9b::a01:203]/hooks", "private"),  # NAT64 around 10.1.2.3
        ("https://224.0.0.1/hooks", "multicast"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://100.64.0.1/hooks", "non-public"),  # carrier-grade NAT
        ("https://240.0.0.1/hooks", "reserved"),
    ],
)
def test_addresses_on_our_own_network_are_refused(acme_key, url, kind):
    response = api(acme_key).post(
        "/api/v1/webhooks/subscriptions/", {"url": url, "events": ["case.closed"]}, format="json"
    )
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["error"]["fields"]["url"])
    assert kind in message, message
    assert not WebhookSubscription.objects.exists()


def test_an_admin_allowance_lets_a_host_or_network_through(acme_key, adam, receiver):
    body = {"url": receiver.url(), "events": ["case.closed"]}
    assert (
        api(acme_key).post("/api/v1/webhooks/subscriptions/", body, format="json").status_code
        == 400
    )
    hooks.allowance_add(actor=adam, host="127.0.0.0/8", note="on-premises receiver")
    assert (
        api(acme_key).post("/api/v1/webhooks/subscriptions/", body, format="json").status_code
        == 201
    )
    other = {"url": "https://10.1.2.3/hooks", "events": ["case.closed"]}
    assert (
        api(acme_key).post("/api/v1/webhooks/subscriptions/", other, format="json").status_code
        == 400
    )
    assert AuditEvent.objects.filter(action="webhook.host_allowed").count() == 1


def test_an_employer_never_reaches_another_employers_webhooks(
    acme_key, other_key, other_employer, employer, ssa, receiver, local_allowed
):
    theirs, _ = subscribe(other_employer, receiver.url("/theirs"))
    mine, _ = subscribe(employer, receiver.url("/mine"))
    tnc(other_employer)  # their case: deliveries to their subscription only
    me = api(acme_key)
    base = f"/api/v1/webhooks/subscriptions/{theirs.pk}/"
    assert me.get(base).status_code == 404
    assert me.delete(base).status_code == 404
    assert me.post(base + "rotate-secret/", {}, format="json").status_code == 404
    assert me.post(base + "ping/").status_code == 404
    assert [s["id"] for s in me.get("/api/v1/webhooks/subscriptions/").json()] == [mine.pk]
    their_delivery = WebhookDelivery.objects.filter(subscription=theirs).first()
    assert their_delivery is not None
    assert not WebhookDelivery.objects.filter(subscription=mine).exists()
    assert me.get("/api/v1/webhooks/deliveries/").json()["results"] == []
    assert me.get(f"/api/v1/webhooks/deliveries/{their_delivery.pk}/").status_code == 404
    assert me.get(f"/api/v1/webhooks/deliveries/?subscription={theirs.pk}").json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
    assert api(other_key).get(base).status_code == 200


# --- The outbox ---------------------------------------------------------------------------------


def test_events_are_written_in_the_transaction_of_the_change(employer, ssa):
    subscribe(employer, "https://8.8.8.8/hooks")
    case = tnc(employer)  # submit: status changed + notice due
    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == [
        "case.further_action_notice_due",
        "case.status_changed",
    ]

    def close_then_fail():
        with transaction.atomic():
            services.case_close(actor=None, case=case, code="not_hired")
            raise RuntimeError("the change is rolled back")

    with pytest.raises(RuntimeError):
        close_then_fail()
    assert WebhookEvent.objects.count() == 2  # nothing of the rolled-back closure
    services.case_close(actor=None, case=case, code="not_hired")
    closed = WebhookEvent.objects.get(type="case.closed")
    assert json.loads(closed.body)["data"] == {
        "case": {"id": case.pk, "status": "closed"},
        "closure_code": "not_hired",
        "result": "tentative_nonconfirmation",
    }
    assert WebhookDelivery.objects.filter(event=closed, state="pending").count() == 1
    assert AuditEvent.objects.filter(action="webhook.event_queued").count() == 4


def test_only_subscribed_events_of_live_subscriptions_are_queued(employer, ssa):
    closed_only, _ = subscribe(employer, "https://8.8.8.8/closed", events=["case.closed"])
    gone, _ = subscribe(employer, "https://8.8.8.8/gone")
    hooks.subscription_delete(actor=None, subscription=gone)
    case = referred(employer)
    assert not WebhookEvent.objects.exists()
    services.case_close(actor=None, case=case, code="voluntarily_quit")
    assert list(WebhookDelivery.objects.values_list("subscription_id", "event__type")) == [
        (closed_only.pk, "case.closed")
    ]


def test_the_employer_row_keeps_the_events_its_live_subscriptions_want(employer, acme_key, ssa):
    """A submit over the API reads the employer's row (from its key) to know whether anything
    listens: the row follows every subscription created and deleted, and the events follow it."""
    closed_only, _ = subscribe(employer, "https://8.8.8.8/closed", events=["case.closed"])
    every, _ = subscribe(employer, "https://8.8.8.8/all")
    employer.refresh_from_db()
    assert employer.webhook_events == sorted(ALL)
    hooks.subscription_delete(actor=None, subscription=every)
    employer.refresh_from_db()
    assert employer.webhook_events == ["case.closed"]

    def submit(n):
        body = i9(first_name="John", last_name="Smith", duplicate_reason="rehire")
        body = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.items()}
        answer = api(acme_key).post(
            "/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"row-{n}"
        )
        assert answer.status_code == 201, answer.content
        return answer.json()["status"]

    assert submit(1) == "tentative_nonconfirmation"
    assert not WebhookEvent.objects.exists()  # only case.closed is wanted: nothing to queue
    subscribe(employer, "https://8.8.8.8/status", events=["case.status_changed"])
    submit(2)
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["case.status_changed"]
    hooks.subscription_delete(actor=None, subscription=closed_only)
    employer.refresh_from_db()
    assert employer.webhook_events == ["case.status_changed"]


def test_payloads_name_the_case_by_number_and_status_only(employer, ssa, vera):
    subscribe(employer, "https://8.8.8.8/hooks")
    case = referred(employer)
    services.case_resolve(actor=vera, case=case, resolution="final_nonconfirmation")
    services.case_close(actor=None, case=case, code="terminated_after_fnc")
    create(employer)  # employment authorized, closed at once
    bodies = list(WebhookEvent.objects.values_list("body", flat=True))
    assert {json.loads(b)["type"] for b in bodies} == set(ALL)
    secrets = [
        "John",
        "Smith",
        "Maria",
        "Garcia",
        "521874390",
        "521-87-4390",
        "4390",
        "1990-04-12",
        "X1234567",
    ]
    allowed = {"id", "status"}
    for raw in bodies:
        body = json.loads(raw)
        assert set(body) == {"id", "type", "created_at", "data"}
        assert set(body["data"]["case"]) == allowed
        rest = payload_identifiers(raw)
        for secret in secrets:
            assert secret not in rest, (secret, raw)
        extra = set(body["data"]) - {"case"}
        assert extra <= {
            "previous_status",
            "result",
            "closure_code",
            "decision_due_on",
            "contact_due_on",
            "reminder",
        }


def test_deadline_reminders_go_out_once_per_deadline(employer, ssa):
    subscribe(
        employer,
        "https://8.8.8.8/hooks",
        events=["case.further_action_notice_due", "case.referral_deadline"],
    )
    today = date(2026, 12, 2)  # a working day (a Wednesday), whatever day the suite runs on
    with time_machine.travel(add_working_days(today, -8).isoformat() + " 15:00Z"):
        mismatch = tnc(employer)  # decision due in 10 working days: 2 from today
        contest = referred(employer)  # contact due in 8: today
    with time_machine.travel(add_working_days(today, -2).isoformat() + " 15:00Z"):
        later = tnc(employer)  # due in 8 working days: not yet
    WebhookEvent.objects.all().delete()
    assert outbox.deadline_reminders(on=today) == 2
    assert outbox.deadline_reminders(on=today) == 0
    bodies = [json.loads(b) for b in WebhookEvent.objects.values_list("body", flat=True)]
    by_case = {b["data"]["case"]["id"]: b for b in bodies}
    assert set(by_case) == {mismatch.pk, contest.pk}
    assert by_case[mismatch.pk]["type"] == "case.further_action_notice_due"
    assert by_case[mismatch.pk]["data"]["reminder"] is True
    assert by_case[contest.pk]["data"]["contact_due_on"] == contest.contact_due_on.isoformat()
    assert later.pk not in by_case


# --- Sending --------------------------------------------------------------------------------------


def _one_delivery(employer, receiver, **kwargs):
    sub, secret = subscribe(employer, receiver.url(), **kwargs)
    event = hooks.subscription_ping(actor=None, subscription=sub)
    return event.deliveries.get(), secret


def test_a_delivery_is_signed_and_verifies_with_the_readme_code(employer, receiver, local_allowed):
    d, secret = _one_delivery(employer, receiver)
    assert delivery.attempt(d.pk) == DeliveryState.SUCCEEDED
    (got,) = receiver.received
    verify = readme_verify()
    header = got.headers["Crosscheck-Signature"]
    assert verify(secret, header, got.body)
    assert not verify(secret, header, got.body + b" ")
    assert not verify("whsec_wrong", header, got.body)
    assert got.headers["Crosscheck-Event-Id"] == got.json["id"] == str(d.event.event_id)
    t = int(header.split(",")[0][2:])
    stale = header.replace(f"t={t}", f"t={t - 301}")
    assert not verify(secret, stale, got.body)  # a replay older than five minutes


def test_a_redirect_is_an_answer_not_followed(employer, receiver, local_allowed):
    receiver.script.append(Answer(status=302, location=receiver.url("/stolen")))
    d, _ = _one_delivery(employer, receiver)
    assert delivery.attempt(d.pk) == DeliveryState.RETRYING
    assert receiver.paths() == ["/hooks"]
    d.refresh_from_db()
    assert d.response_code == 302
    assert d.next_attempt_at > d.last_attempt_at


def test_the_answer_is_read_up_to_the_size_cap(employer, receiver, local_allowed, settings):
    settings.WEBHOOK_RESPONSE_MAX_BYTES = 4096
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    receiver.script.append(Answer(endless=True))
    d, _ = _one_delivery(employer, receiver)
    assert delivery.attempt(d.pk) == DeliveryState.SUCCEEDED
    attempt = d.tries.get()
    assert attempt.truncated
    assert attempt.error == ""
    assert len(attempt.response_excerpt) <= 1000
    # The stream ends when our side hangs up, long before the receiver's 200 MiB.
    wait_until(lambda: bool(receiver.streamed_bytes), 10, "the receiver to see the hang-up")
    assert receiver.streamed_bytes[0] < 200 * 1024 * 1024


def test_a_slow_receiver_times_out(employer, receiver, local_allowed, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.script.append(Answer(delay=2))
    d, _ = _one_delivery(employer, receiver)
    assert delivery.attempt(d.pk) == DeliveryState.RETRYING
    assert d.tries.get().error.startswith("Timed out")


def test_the_checked_address_is_the_one_connected_to(
    employer, receiver, local_allowed, monkeypatch, settings
):
    """DNS rebinding: the name answers a public address when checked, then loopback. We connect
    to the checked (public, unreachable here) address, so the local receiver is never called."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    real = socket.getaddrinfo
    answers = iter(["198.51.100.7", "93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.rebind.test":
            first = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (first, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(network.socket, "getaddrinfo", rebinding)
    target = network.parse(f"https://hooks.rebind.test:{receiver.port}/hooks")
    with pytest.raises(network.Refused):
        network.resolve(target)  # 198.51.100.7 is a documentation address: refused
    answer = network.post(
        target_url := f"http://hooks.rebind.test:{receiver.port}/hooks", body=b"{}", headers={}
    )
    assert answer.address == "93.184.216.34", (target_url, answer)
    assert answer.error
    assert receiver.received == []


def test_an_address_refused_at_send_time_is_never_called(employer, receiver, adam, local_allowed):
    d, _ = _one_delivery(employer, receiver)
    hooks.allowance_remove(actor=adam, allowance=local_allowed)
    assert delivery.attempt(d.pk) == DeliveryState.RETRYING
    assert receiver.received == []
    assert "loopback" in d.tries.get().error


def test_a_deleted_subscription_cancels_its_deliveries(employer, receiver, local_allowed):
    d, _ = _one_delivery(employer, receiver)
    hooks.subscription_delete(actor=None, subscription=d.subscription)
    d.refresh_from_db()
    assert d.state == DeliveryState.CANCELLED
    assert delivery.attempt(d.pk) is None
    assert receiver.received == []


def test_rotation_signs_with_both_secrets_during_the_overlap(
    employer, acme_key, receiver, local_allowed
):
    sub, first = subscribe(employer, receiver.url())
    rotated = api(acme_key).post(
        f"/api/v1/webhooks/subscriptions/{sub.pk}/rotate-secret/", {}, format="json"
    )
    assert rotated.status_code == 200
    assert rotated.json()["in_overlap"] is True
    second = rotated.json()["secret"]
    sub.refresh_from_db()
    assert signing.signing_secrets(sub) == [second, first]
    bad = api(acme_key).post(
        f"/api/v1/webhooks/subscriptions/{sub.pk}/rotate-secret/",
        {"overlap_hours": 10000},
        format="json",
    )
    assert bad.status_code == 400
    assert "overlap_hours" in bad.json()["error"]["fields"]
    now = api(acme_key).post(
        f"/api/v1/webhooks/subscriptions/{sub.pk}/rotate-secret/",
        {"overlap_hours": 0},
        format="json",
    )
    sub.refresh_from_db()
    assert signing.signing_secrets(sub) == [now.json()["secret"]]
    assert AuditEvent.objects.filter(action="webhook.secret_rotated").count() == 2


# --- The admin screens ------------------------------------------------------------------------------


def test_admins_see_every_delivery_with_its_answer_and_replay_it(
    employer, receiver, local_allowed, login, adam, alice
):
    receiver.script.append(Answer(status=200, body=b'{"thanks":"received"}'))
    d, _ = _one_delivery(employer, receiver)
    delivery.attempt(d.pk)
    admin = login(adam)
    page = admin.get("/verification/webhooks/deliveries/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "received" in html
    assert ">200<" in html
    assert employer.name in html
    assert login(alice).get("/verification/webhooks/deliveries/").status_code == 403
    detail = admin.get(f"/verification/webhooks/deliveries/{d.pk}/")
    assert detail.status_code == 200
    assert str(d.event.event_id) in detail.content.decode()
    response = admin.post(f"/verification/webhooks/deliveries/{d.pk}/replay/")
    assert response.status_code == 302
    replay = WebhookDelivery.objects.get(replay_of=d)
    assert replay.state == DeliveryState.PENDING
    assert replay.replayed_by == adam
    assert delivery.attempt(replay.pk) == DeliveryState.SUCCEEDED
    first, second = receiver.received
    assert first.headers["Crosscheck-Event-Id"] == second.headers["Crosscheck-Event-Id"]
    assert first.headers["Crosscheck-Delivery-Id"] != second.headers["Crosscheck-Delivery-Id"]
    assert AuditEvent.objects.filter(action="webhook.delivery_replayed", actor_id=adam.pk).exists()
    # A delivery still in flight cannot be replayed beside itself.
    hooks.subscription_ping(actor=None, subscription=d.subscription)
    pending = WebhookDelivery.objects.filter(state="pending").get()
    admin.post(f"/verification/webhooks/deliveries/{pending.pk}/replay/")
    assert not WebhookDelivery.objects.filter(replay_of=pending).exists()


def test_admins_manage_subscriptions_and_allowances_on_screen(employer, login, adam, alice):
    client = login(adam)
    bad = client.post("/verification/webhooks/allowances/", {"host": "not a host!", "note": "x"})
    assert bad.status_code == 400
    assert "host name" in bad.content.decode()
    refused = client.post(
        "/verification/webhooks/new/",
        {"employer": employer.pk, "url": "https://10.0.0.8/h", "events": ["case.closed"]},
    )
    assert refused.status_code == 400
    assert "private" in refused.content.decode()
    created = client.post(
        "/verification/webhooks/new/",
        {"employer": employer.pk, "url": "https://8.8.8.8/h", "events": ["case.closed"]},
    )
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    sub = WebhookSubscription.objects.get()
    assert signing.signing_secrets(sub)[0] in created.content.decode()
    assert (
        signing.signing_secrets(sub)[0]
        not in client.get("/verification/webhooks/").content.decode()
    )
    assert login(alice).post(f"/verification/webhooks/{sub.pk}/delete/").status_code == 403
    assert client.post(f"/verification/webhooks/{sub.pk}/delete/").status_code == 302
    sub.refresh_from_db()
    assert sub.deleted_at is not None


def test_a_receiver_whose_certificate_does_not_verify_is_refused(
    employer, local_allowed, tmp_path, settings
):
    """TLS is verified against the host name: a self-signed certificate fails the attempt."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 3
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tls = Receiver().start()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    tls.server.socket = context.wrap_socket(tls.server.socket, server_side=True)
    try:
        sub, _ = subscribe(employer, f"https://127.0.0.1:{tls.port}/hooks")
        d = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get()
        assert delivery.attempt(d.pk) == DeliveryState.RETRYING
        assert "CERTIFICATE_VERIFY_FAILED" in d.tries.get().error
        assert tls.received == []
    finally:
        tls.stop()


def test_delivery_lists_cost_the_same_queries_for_few_or_many(employer, acme_key, login, adam):
    sub, _ = subscribe(employer, "https://8.8.8.8/hooks")
    admin = login(adam)
    me = api(acme_key)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert admin.get("/verification/webhooks/deliveries/").status_code == 200
        with CaptureQueriesContext(connection) as listed:
            assert me.get("/api/v1/webhooks/deliveries/").status_code == 200
        return len(page), len(listed)

    for _ in range(2):
        hooks.subscription_ping(actor=None, subscription=sub)
    counts()  # warm up (the key's last-used time is written once a minute)
    few = counts()
    for _ in range(10):
        hooks.subscription_ping(actor=None, subscription=sub)
    assert counts() == few
    assert len(me.get("/api/v1/webhooks/deliveries/").json()["results"]) == 12


def test_finished_deliveries_are_pruned_after_the_keeping_period(employer, receiver, local_allowed):
    sub, _ = subscribe(employer, receiver.url())
    with time_machine.travel("2026-01-05 12:00Z"):
        done = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get()
        delivery.attempt(done.pk)
        stuck = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get()
    fresh = hooks.subscription_ping(actor=None, subscription=sub).deliveries.get()
    delivery.attempt(fresh.pk)
    assert delivery.prune(keep_days=90) == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {stuck.pk, fresh.pk}
    assert AuditEvent.objects.filter(action="webhook.pruned").count() == 1
