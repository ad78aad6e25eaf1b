"""The trail is append-only in PostgreSQL, and the test flush's way through is narrow."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from audit import chain, db
from audit.models import AuditEvent, AuditSeal
from audit.services import event_record
from tests.audit.conftest import sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(alice):
    return event_record(
        action="access.denied", actor=alice, outcome="denied", detail={"path": "/x"}
    )


def _refused(statement: str, params: list | None = None) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        sql(statement, params)
    return str(caught.value)


def test_update_is_refused(event):
    assert "append-only" in _refused(
        "UPDATE audit_event SET action = 'auth.login' WHERE id = %s", [event.pk]
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "access.denied"


def test_update_through_the_orm_is_refused(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="allowed")


def test_delete_is_refused(event):
    assert "append-only" in _refused("DELETE FROM audit_event WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_delete_from_a_partition_directly_is_refused(event):
    partition = db.partitions()[-1][0]
    for name, _bound in db.partitions():
        if sql(f'SELECT count(*) FROM "{name}" WHERE id = %s', [event.pk])[0][0]:
            partition = name
    assert "append-only" in _refused(f'DELETE FROM "{partition}" WHERE id = %s', [event.pk])


def test_truncate_is_refused_without_the_test_flag(event):
    sql("SELECT set_config('crosscheck.audit_test_flush', 'off', false)")
    try:
        assert "append-only" in _refused("TRUNCATE audit_event")
        assert "append-only" in _refused("TRUNCATE audit_seal")
        for name, _bound in db.partitions():
            assert "append-only" in _refused(f'TRUNCATE "{name}"')
        assert "append-only" in _refused("TRUNCATE audit_row_change")
    finally:
        sql("SELECT set_config('crosscheck.audit_test_flush', 'on', false)")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_seals_are_append_only_too(event):
    sql(
        "INSERT INTO audit_seal (seq, event_id, occurred_at, txid, prev_hash, hash) "
        "SELECT 1, id, occurred_at, txid, %s, %s FROM audit_event WHERE id = %s",
        [bytes(32), bytes(32), event.pk],
    )
    assert "append-only" in _refused("UPDATE audit_seal SET hash = hash")
    assert "append-only" in _refused("DELETE FROM audit_seal")


def test_the_flush_way_needs_a_test_database_whatever_the_session_sets():
    """The production database (not named test_*) is refused even with the flag on."""
    assert sql("SELECT audit_test_flush_permitted('test_crosscheck', 'on')")[0][0] is True
    assert sql("SELECT audit_test_flush_permitted('crosscheck', 'on')")[0][0] is False
    assert sql("SELECT audit_test_flush_permitted('crosscheck_test_x', 'on')")[0][0] is False
    assert sql("SELECT audit_test_flush_permitted('test_crosscheck', 'off')")[0][0] is False
    assert sql("SELECT audit_test_flush_permitted('test_crosscheck', NULL)")[0][0] is False


def test_the_application_path_never_opens_the_flush_way(settings):
    """Outside the test settings, a new connection keeps the guard shut, even on a test database."""
    settings.AUDIT_TEST_FLUSH_ALLOWED = False
    assert not db.flush_allowed_for({"NAME": "test_crosscheck"})
    sql("SELECT set_config('crosscheck.audit_test_flush', 'off', false)")
    try:
        db.connection_prepare(sender=None, connection=connection)
        assert sql("SELECT current_setting('crosscheck.audit_test_flush', true)")[0][0] == "off"
        assert "append-only" in _refused("TRUNCATE audit_event")
    finally:
        sql("SELECT set_config('crosscheck.audit_test_flush', 'on', false)")


@override_settings(AUDIT_TEST_FLUSH_ALLOWED=True)
def test_the_test_settings_open_it_only_on_test_databases():
    assert db.flush_allowed_for({"NAME": "test_cc_audit"})
    assert not db.flush_allowed_for({"NAME": "crosscheck"})


def test_partitions_are_monthly_with_a_default(event):
    names = [name for name, _ in db.partitions()]
    assert "audit_event_pdefault" in names
    assert sum(1 for n in names if n.startswith("audit_event_p2")) >= 4
    # An event far in the future still lands (in the default partition).
    sql("SELECT audit_partition_create('2031-01-15')")
    assert "audit_event_p203101" in [name for name, _ in db.partitions()]


@pytest.mark.django_db(transaction=True)
def test_the_sealer_cannot_be_run_twice_at_once():
    """Two real sealers, each on its own connection: the second waits for the first, none seals twice."""
    for i in range(120):
        event_record(action="access.denied", outcome="denied", detail={"i": i})
    first_holds = threading.Event()
    release = threading.Event()
    timings: dict[str, float] = {}

    def first() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT audit_seal_pending(%s, %s)", [50, chain.FORMAT_VERSION])
                first_holds.set()  # the sealer's lock is held until this transaction ends
                release.wait(10)
                timings["first_commit"] = time.monotonic()
        finally:
            connection.close()

    def second() -> None:
        try:
            first_holds.wait(10)
            started = time.monotonic()
            timings["second_sealed"] = chain.seal_pending(batch=50)
            timings["second_started"], timings["second_done"] = started, time.monotonic()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_holds.wait(10)
    time.sleep(0.5)
    assert "second_done" not in timings  # still waiting behind the first sealer
    release.set()
    for t in threads:
        t.join(30)
    assert timings["second_done"] >= timings["first_commit"]
    assert timings["second_sealed"] == 120 - 50
    sealed = list(AuditSeal.objects.values_list("event_id", flat=True))
    assert len(sealed) == len(set(sealed)) == AuditEvent.objects.count()
    assert chain.verify().ok
