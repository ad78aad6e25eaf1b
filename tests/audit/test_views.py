"""The audit pages: the permission matrix, one event per page naming its people, export with proof."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import event_record
from tests.audit.conftest import seal_all

pytestmark = pytest.mark.django_db

ROUTES = ["/audit/", "/audit/review/", "/audit/status/", "/audit/export/?format=jsonl"]


@pytest.fixture
def trail(alice, bob):
    """Events of two ICE-HSI analysts, one naming people."""
    events = [
        event_record(
            action="access.denied", actor=alice, outcome="denied", subjects=["person:1", "person:2"]
        ),
        event_record(
            action="access.denied", actor=bob, outcome="denied", subjects=["person:3"], case_id=77
        ),
    ]
    return events


def _count(action: str, **filters) -> int:
    return AuditEvent.objects.filter(action=action, **filters).count()


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_sent_to_sign_in(route):
    response = Client().get(route)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["alice", "bob", "adam", "vera", "sally", "petra"])
@pytest.mark.parametrize("route", ROUTES)
def test_users_without_an_audit_role_are_refused_and_recorded(request, login, persona, route):
    user = request.getfixturevalue(persona)
    client = login(user)
    before = _count("access.denied", actor_id=user.pk)
    response = client.get(route)
    assert response.status_code == 403
    assert _count("access.denied", actor_id=user.pk) == before + 1


def test_an_auditor_may_read_but_not_review(login, audrey, trail):
    client = login(audrey)
    assert client.get("/audit/").status_code == 200
    assert client.get("/audit/status/").status_code == 200
    assert client.get("/audit/review/").status_code == 403


def test_a_supervisor_sees_the_agencys_trail_and_reviews(login, sam, trail):
    client = login(sam)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert b"person:3" in response.content
    assert client.get("/audit/review/").status_code == 200


@pytest.mark.parametrize("odd", ["\u00b2", "\u0661\u0662", "99999999999999999999"])
def test_an_id_filter_python_calls_digits_but_int_refuses_finds_nothing(login, sam, trail, odd):
    """ "²".isdigit() is True and int("²") raises: ?user=² and ?before=² were 500s."""
    client = login(sam)
    for query in ({"user": odd}, {"before": odd}):
        response = client.get("/audit/", query)
        assert response.status_code == 200, query
    assert "alice" not in client.get("/audit/", {"user": odd}).content.decode()


def test_a_second_factor_is_required(login, audrey):
    client = login(audrey, verify=False)
    response = client.get("/audit/")
    assert response.status_code == 302
    assert "/accounts/2fa/" in response["Location"]


def test_one_browse_is_one_event_naming_every_person_shown(login, sam, trail):
    client = login(sam)
    before = _count("audit.browsed")
    client.get("/audit/")
    assert _count("audit.browsed") == before + 1
    event = AuditEvent.objects.filter(action="audit.browsed").order_by("-id").first()
    assert set(event.subjects) >= {"person:1", "person:2", "person:3"}
    assert event.actor_id == sam.pk


def test_the_browser_filters(login, sam, trail, bob):
    client = login(sam)
    response = client.get("/audit/", {"user": "bob", "case": 77})
    rows = response.content.decode()
    assert f'href="/audit/events/{trail[1].pk}/"' in rows
    assert f'href="/audit/events/{trail[0].pk}/"' not in rows
    response = client.get("/audit/", {"person": "person:1"})
    assert f'href="/audit/events/{trail[0].pk}/"' in response.content.decode()


def test_keyset_pages_follow_each_other(login, sam, alice):
    ids = [
        event_record(action="access.denied", actor=alice, outcome="denied").pk for _ in range(60)
    ]
    client = login(sam)
    first = client.get("/audit/", {"user": "alice"}).content.decode()
    assert f"/audit/events/{ids[-1]}/" in first
    assert f"/audit/events/{ids[0]}/" not in first
    cursor = first.split("before=")[1].split('"')[0]
    second = client.get(
        "/audit/", {"user": "alice", "before": cursor}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"/audit/events/{ids[0]}/" in second
    assert "<html" not in second


def test_a_persons_pages_follow_each_other_newest_first(login, sam, alice, bob):
    """A person filter sorts the person's events itself (id + 0), and still pages newest first, without gaps."""
    ids = [
        event_record(
            action="access.denied",
            actor=alice if i % 2 else bob,
            outcome="denied",
            subjects=["person:9"] if i % 3 else ["person:8"],
        ).pk
        for i in range(90)
    ]
    mine = [pk for i, pk in enumerate(ids) if i % 3][::-1]  # 60, newest first
    client = login(sam)
    first = client.get("/audit/", {"person": "person:9"}).content.decode()
    shown = [int(part.split("/")[0]) for part in first.split('href="/audit/events/')[1:]]
    assert shown == mine[:50]
    cursor = first.split("before=")[1].split('"')[0]
    second = client.get(
        "/audit/", {"person": "9", "before": cursor}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert [int(part.split("/")[0]) for part in second.split('href="/audit/events/')[1:]] == mine[
        50:
    ]
    assert "before=" not in second  # the last page


def test_the_timeline_counts_days_and_groups_a_rules_flags(login, sam, alice, monkeypatch):
    from audit import anomalies

    for i in range(8):
        event_record(action="cases.case_viewed", actor=alice, subjects=[f"person:{i}"])
    monkeypatch.setattr(
        anomalies, "_resolvers", [lambda *, user_id, subjects: set()]
    )  # nobody assigned
    page = login(sam).get(f"/audit/users/{alice.pk}/").content.decode()
    assert 'title="' in page
    today = page.split('<ol class="sparkline"')[1].split("</ol>")[0].split("<li ")[-1]
    assert ">8</span>" in today  # today's bar: the 8 events, counted in SQL by local day
    flags = page.split('id="h-flags"')[1].split("</section>")[0]
    assert flags.count("outside_assignment") == 1
    assert "8 flags." in flags
    assert flags.count("<li>") == 5
    assert "and 3 more" in flags


def test_a_supervisor_of_another_agency_gets_404_for_an_event(login, directory, trail):
    from privacy.models import Role
    from tests.factories import UserFactory

    other = UserFactory(
        username="ursula", unit=directory["uscis_monitoring"], roles=[Role.SUPERVISOR]
    )
    client = login(other)
    assert client.get(f"/audit/events/{trail[0].pk}/").status_code == 404
    assert client.get("/audit/events/999999999/").status_code == 404


def test_the_event_page_is_recorded_with_the_events_people(login, sam, trail):
    client = login(sam)
    response = client.get(f"/audit/events/{trail[0].pk}/")
    assert response.status_code == 200
    viewed = AuditEvent.objects.get(action="audit.event_viewed")
    assert viewed.subjects == ["person:1", "person:2"]
    assert viewed.object_id == str(trail[0].pk)


def test_the_timeline_shows_one_users_activity(login, sam, alice, trail):
    client = login(sam)
    response = client.get(f"/audit/users/{alice.pk}/")
    assert response.status_code == 200
    assert _count("audit.timeline_viewed", object_id=str(alice.pk)) == 1


@pytest.mark.django_db(transaction=True)
def test_an_export_carries_its_chain_proof_and_is_recorded(login, sam, alice):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from audit import chain, checkpoints

    for i in range(3):
        event_record(
            action="access.denied", actor=alice, outcome="denied", subjects=[f"person:{i}"]
        )
    seal_all()
    client = login(sam)
    response = client.get("/audit/export/", {"format": "jsonl", "user": "alice"})
    assert response.status_code == 200
    records = [
        json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()
    ]
    kinds = [r["record"] for r in records]
    assert kinds[0] == "export"
    events = [r for r in records if r["record"] == "event"]
    assert len(events) == 3
    links = {r["seq"]: r for r in records if r["record"] == "link"}
    checkpoint = next(r for r in records if r["record"] == "checkpoint")
    key = load_pem_public_key(
        next(r for r in records if r["record"] == "key")["public_key_pem"].encode()
    )
    # The recipient's check, without the database:
    for e in events:
        proof = e["chain"]
        assert proof["canonical_format"] == chain.FORMAT_VERSION
        assert (
            hashlib.sha256(
                bytes.fromhex(proof["prev_hash"]) + bytes.fromhex(proof["canonical_hex"])
            ).hexdigest()
            == proof["hash"]
        )
        assert links[proof["seq"]]["hash"] == proof["hash"]
    ordered = [links[s] for s in sorted(links)]
    for before, after in itertools.pairwise(ordered):
        assert after["prev_hash"] == before["hash"]
    assert ordered[-1]["hash"] == checkpoint["hash"]
    signed = {k: checkpoint[k] for k in ("seq", "hash", "event_id", "signed_at", "key")} | {"v": 1}
    import base64

    key.verify(base64.b64decode(checkpoint["sig"]), checkpoints._signed_bytes(signed))
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.detail["rows"] == 3
    assert exported.actor_id == sam.pk


def test_a_csv_export_works_too(login, sam, trail):
    client = login(sam)
    response = client.get("/audit/export/", {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("record,id,occurred_at")
    assert "\nevent," in body
    assert _count("audit.exported") == 1


def test_the_status_panel_shows_a_broken_chain(login, sam):
    from django.utils import timezone

    from audit.models import VerificationRun

    now = timezone.now()
    VerificationRun.objects.create(
        started_at=now,
        finished_at=now,
        ok=False,
        first_bad_seq=12,
        first_bad_event_id=34,
        problem="Event 34 (seq 12) was altered.",
    )
    response = login(sam).get("/audit/status/")
    assert b"Broken at seq 12" in response.content
