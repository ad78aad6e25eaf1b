"""event_record: the complete event, no identifier ever stored, and failure fails the action."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit import context
from audit.catalogue import CATALOGUE_VERSION, register
from audit.models import AuditEvent
from audit.services import AuditWriteFailed, event_record, normalize_search_value, search_hmac
from audit.services_admin import chain_verify
from tests.audit.conftest import sql

pytestmark = pytest.mark.django_db

CANARY_SSN = "078-05-1120"
CANARY_DIGITS = "078051120"
CANARY_ANUMBER = "A087654321"


def _every_audit_row_text() -> str:
    rows = sql("SELECT e::text FROM audit_event e")
    rows += sql("SELECT r::text FROM audit_row_change r")
    return "\n".join(r[0] for r in rows)


def test_an_event_holds_who_what_when_where_why_outcome_and_change(alice):
    with context.bound(
        ip="10.1.2.3", user_agent="pytest-agent", request_id="req-12345678", purpose=""
    ):
        event = event_record(
            action="access.denied",
            actor=alice,
            object_type="case",
            object_id=17,
            subjects=["person:9", "person:3"],
            outcome="denied",
            case_id=17,
            agreement_id=4,
            justification="Working lead 17",
            changes={"status": ["open", "closed"]},
            detail={"path": "/cases/17/"},
        )
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.actor_id, row.actor_username, row.actor_agency, row.actor_role) == (
        alice.pk,
        "alice",
        "ice-hsi",
        "analyst",
    )
    assert (row.action, row.object_type, row.object_id, row.subjects) == (
        "access.denied",
        "case",
        "17",
        ["person:3", "person:9"],
    )
    assert (row.ip, row.user_agent, row.request_id) == ("10.1.2.3", "pytest-agent", "req-12345678")
    assert (row.case_id, row.agreement_id, row.justification, row.outcome) == (
        17,
        4,
        "Working lead 17",
        "denied",
    )
    assert row.changes == {"status": ["open", "closed"]}
    assert row.catalogue_version == CATALOGUE_VERSION
    assert row.occurred_at.utcoffset().total_seconds() == 0


def test_a_task_records_its_name_and_run(alice):
    with context.bound(task_name="crossref.tasks.sweep", run_id="abc-123"):
        event = event_record(action="access.denied", outcome="denied")
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.task_name, row.run_id, row.actor_id) == ("crossref.tasks.sweep", "abc-123", None)


def test_the_canary_ssn_never_reaches_any_audit_row(alice):
    event_record(
        action="access.denied",
        actor=alice,
        outcome="denied",
        justification=f"Looked up {CANARY_SSN} and {CANARY_DIGITS} for {CANARY_ANUMBER}",
        changes={
            "ssn": ["", CANARY_SSN],
            "a_number": [None, CANARY_ANUMBER],
            "note": f"ssn {CANARY_DIGITS}",
        },
        detail={
            "query": CANARY_SSN,
            "nested": {"list": [CANARY_DIGITS, "078 05 1120"]},
            "username": CANARY_DIGITS,
        },
        search_kind="ssn",
        search_value=CANARY_SSN,
    )
    with context.bound(user_agent=f"agent {CANARY_DIGITS}"):
        event_record(action="auth.login_failed", outcome="denied", detail={"username": CANARY_SSN})
    text = _every_audit_row_text()
    for needle in (CANARY_SSN, CANARY_DIGITS, "078 05 1120", "087654321"):
        assert needle not in text
    row = AuditEvent.objects.filter(search_kind="ssn").get()
    assert row.changes["ssn"] == [None, "…1120"]  # at most the last four
    assert row.search_hmac == search_hmac(kind="ssn", value=CANARY_SSN)


def test_a_sha256_digest_is_kept_whole_but_nothing_else_rides_on_its_name(alice):
    """A digest's hex often holds nine digits in a row: under a key naming it, it is kept as it
    is, so a printed notice can be matched to its print. Anything that is not a digest is not."""
    digest = "c84d131346be13630dae36f00037373839f2810843aa09506b0cd31ed76e6125"
    event_record(
        action="access.denied",
        actor=alice,
        detail={
            "sha256": digest,
            "file_sha256": f"{CANARY_DIGITS}{digest[9:]}x",  # not a digest: scrubbed
            "other": digest,  # a digest under another name: scrubbed as free text
        },
    )
    row = AuditEvent.objects.latest("id")
    assert row.detail["sha256"] == digest
    assert CANARY_DIGITS not in row.detail["file_sha256"]
    assert "[redacted]" in row.detail["other"]


def test_a_nul_in_what_an_event_records_is_stored_as_a_replacement_character(alice):
    """jsonb cannot hold \\u0000: the event failed to store, and so did its action (a sign-in
    with a NUL in the username was a 500). The chain still verifies over what was stored."""
    event_record(
        action="access.denied",
        actor=alice,
        detail={"username": "ad\x00am", "bad\x00key": ["a\x00", 1]},
        justification="why\x00",
    )
    row = AuditEvent.objects.latest("id")
    assert row.detail == {"username": "ad\ufffdam", "bad\ufffdkey": ["a\ufffd", 1]}
    assert row.justification == "why\ufffd"
    assert chain_verify(actor=None, trigger="test").ok


def test_signing_in_with_a_nul_in_the_username_is_refused_not_a_500(client, alice):
    response = client.post("/accounts/login/", {"username": "alice\x00", "password": "nope"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="auth.login_failed").latest("id").detail == {
        "username": "alice\ufffd"
    }


def test_a_search_stores_the_kind_and_a_keyed_hash_never_the_value(alice):
    event = event_record(
        action="access.denied",
        actor=alice,
        outcome="denied",
        search_kind="surname",
        search_value="  García-LÓPEZ ",
    )
    row = AuditEvent.objects.get(pk=event.pk)
    assert row.search_kind == "surname"
    assert row.search_hmac == search_hmac(kind="surname", value="garcia lopez")
    assert (
        "garc"
        not in sql("SELECT e::text FROM audit_event e WHERE id = %s", [event.pk])[0][0].lower()
    )
    assert normalize_search_value("  O'Brien  Ñúñez ") == "o brien nunez"


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="catalogue"):
        event_record(action="nobody.knows")


def test_a_catalogue_entry_cannot_change_meaning():
    register({"test.thing": "Why a thing is recorded."})
    register({"test.thing": "Why a thing is recorded."})
    with pytest.raises(ValueError):
        register({"test.thing": "Something else."})


def test_a_failed_audit_write_fails_the_action_with_a_generic_error(alice):
    from privacy.models import Department

    sql(
        "ALTER TABLE audit_event ADD CONSTRAINT audit_test_outage CHECK (action <> 'access.denied')"
    )

    def department_create() -> None:
        with transaction.atomic():
            Department.objects.create(code="ghost", name="Written without its audit record")
            event_record(action="access.denied", actor=alice, outcome="denied")

    with pytest.raises(AuditWriteFailed) as caught:
        department_create()
    assert "could not be recorded" in str(caught.value)
    assert "audit_test_outage" not in str(caught.value)
    assert not Department.objects.filter(code="ghost").exists()
    assert connection.is_usable()


def test_recording_can_be_switched_off_for_the_benchmark(settings, alice):
    settings.AUDIT_ENABLED = False
    assert event_record(action="access.denied", actor=alice, outcome="denied") is None
    assert not AuditEvent.objects.exists()


def test_a_celery_task_binds_its_name_and_run_id_for_its_events():
    from audit import tasks_context

    class Task:
        name = "audit.tasks.seal"

    tasks_context.task_started(task_id="run-1", task=Task())
    try:
        event = event_record(action="access.denied", outcome="denied")
    finally:
        tasks_context.task_finished(task_id="run-1")
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.task_name, row.run_id) == ("audit.tasks.seal", "run-1")
    assert context.current().task_name == ""


def test_identifier_columns_are_recognised_by_name():
    from audit.services import is_identifier_name

    for name in (
        "ssn",
        "ssn_ciphertext",
        "ssn_bidx",
        "a_number_enc",
        "passport_number",
        "i94_number",
        "document_number",
    ):
        assert is_identifier_name(name), name
    for name in ("name", "last_name", "status", "employer_id"):
        assert not is_identifier_name(name), name
