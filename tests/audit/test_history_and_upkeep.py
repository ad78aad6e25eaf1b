"""Row history under services, the trail's own upkeep events, retention by whole months."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction

from audit import chain, db, history
from audit.models import AuditEvent, RetentionAnchor, RowChange, VerificationRun
from audit.services import event_record
from audit.services_admin import (
    chain_verify,
    checkpoint_record,
    partitions_maintain,
    retention_cutoff,
)
from tests.audit.conftest import seal_all, sql

pytestmark = pytest.mark.django_db


def test_a_write_that_bypasses_services_is_in_row_history(alice, directory):
    from audit import context
    from privacy.models import Agency

    agency = directory["ice"]
    with context.bound(user=alice, request_id="req-history-1"):
        Agency.objects.filter(pk=agency.pk).update(name="ICE Homeland Security Investigations")
    change = RowChange.objects.filter(
        table_name=Agency._meta.db_table, row_pk=str(agency.pk), operation="UPDATE"
    ).latest("id")
    assert change.old["name"] == "ICE HSI"
    assert change.new["name"] == "ICE Homeland Security Investigations"
    assert change.app_user_id == alice.pk
    assert change.request_id == "req-history-1"


@pytest.mark.parametrize("params", ["list", "dict", "none"])
def test_every_kind_of_write_names_its_writer_in_row_history(alice, directory, params):
    """The writer context rides in the write's own round trip (positional or named parameters),
    or goes first on its own (no parameters): the history row names the writer either way."""
    from django.db import connection

    from audit import context
    from privacy.models import Agency

    agency = directory["ice"]
    table = Agency._meta.db_table
    request_id = f"req-history-{params}"
    with context.bound(user=alice, request_id=request_id), connection.cursor() as cursor:
        if params == "list":
            cursor.execute(f"UPDATE {table} SET name = %s WHERE id = %s", ["ICE (list)", agency.pk])
        elif params == "dict":
            cursor.execute(
                f"UPDATE {table} SET name = %(name)s WHERE id = %(pk)s",
                {"name": "ICE (dict)", "pk": agency.pk},
            )
        else:
            cursor.execute(f"UPDATE {table} SET name = 'ICE (none)' WHERE id = {agency.pk:d}")
        assert cursor.rowcount == 1  # the write's own result, not the context's
    change = RowChange.objects.filter(table_name=table, row_pk=str(agency.pk)).latest("id")
    assert change.new["name"] == f"ICE ({params})"
    assert (change.app_user_id, change.request_id) == (alice.pk, request_id)


def test_row_history_leaves_out_passwords_and_identifier_columns(alice):
    alice.set_password("another-long-password-123")
    alice.save()
    change = RowChange.objects.filter(table_name="privacy_user", row_pk=str(alice.pk)).latest("id")
    assert "password" not in (change.new or {})
    assert "last_login" not in (change.new or {})


def test_an_update_of_only_excluded_columns_writes_nothing(alice):
    before = RowChange.objects.count()
    sql("UPDATE privacy_user SET last_login = now() WHERE id = %s", [alice.pk])
    assert RowChange.objects.count() == before


def test_inserts_inside_bulk_insert_write_no_row_history_and_updates_still_do(alice, directory):
    from privacy.models import Agency

    department = directory["ice"].department

    with transaction.atomic():
        with history.bulk_insert():
            quiet = Agency.objects.create(
                code="BULKQ", name="Inserted in bulk", department=department
            )
            Agency.objects.filter(pk=quiet.pk).update(name="Updated in bulk")
        loud = Agency.objects.create(
            code="BULKL", name="Inserted after the block", department=department
        )
    rows = RowChange.objects.filter(table_name=Agency._meta.db_table)
    assert list(rows.filter(row_pk=str(quiet.pk)).values_list("operation", flat=True)) == ["UPDATE"]
    assert rows.filter(row_pk=str(loud.pk), operation="INSERT").exists()


def test_row_history_is_append_only(alice):
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("DELETE FROM audit_row_change")


def test_apps_opt_in_by_label():
    history.track("audit.VerificationRun", exclude=["problem"])
    try:
        assert "audit_verification_run" in history.install()
        now = datetime.now(UTC)
        run = VerificationRun.objects.create(started_at=now, problem="kept out")
        change = RowChange.objects.get(table_name="audit_verification_run", row_pk=str(run.pk))
        assert "problem" not in change.new
    finally:
        history.TRACKED.pop("audit.VerificationRun")
        sql("DROP TRIGGER audit_row_history ON audit_verification_run")


@pytest.mark.django_db(transaction=True)
def test_verification_is_recorded_once_per_run_with_its_outcome(alice):
    event_record(action="access.denied", actor=alice, outcome="denied")
    seal_all()
    run = chain_verify(actor=None, trigger="test")
    assert run.ok
    recorded = AuditEvent.objects.filter(action="audit.verified")
    assert recorded.count() == 1
    assert recorded.get().detail["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_the_command_reports_the_first_bad_event(alice, capsys):
    events = [event_record(action="access.denied", actor=alice, outcome="denied") for _ in range(3)]
    seal_all()
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out
    sql("SET session_replication_role = replica")
    sql("UPDATE audit_event SET outcome = 'allowed' WHERE id = %s", [events[1].pk])
    sql("SET session_replication_role = origin")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=f"event {events[1].pk}"):
        call_command("audit_verify")
    assert VerificationRun.objects.filter(ok=False, first_bad_event_id=events[1].pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_is_written_outside_the_database_and_recorded_once(alice, settings):
    from pathlib import Path

    event_record(action="access.denied", actor=alice, outcome="denied")
    seal_all()
    cp = checkpoint_record()
    assert cp.seq == 1
    assert Path(settings.AUDIT_CHECKPOINT_PATH).read_text().count("\n") == 1
    assert AuditEvent.objects.filter(action="audit.checkpoint_signed").count() == 1


def test_retention_keeps_six_years_by_default():
    assert retention_cutoff(date(2026, 11, 28)) == date(2020, 11, 1)


@pytest.mark.django_db(transaction=True)
def test_retention_drops_whole_old_months_and_the_chain_still_verifies(alice, settings):
    sql("SELECT audit_partition_create('2019-03-10')")
    old = AuditEvent.objects.create(
        occurred_at=datetime(2019, 3, 10, 12, tzinfo=UTC), action="access.denied", outcome="denied"
    )
    for _ in range(3):
        event_record(action="access.denied", actor=alice, outcome="denied")
    seal_all()
    seal_all()
    result = partitions_maintain(actor=None, today=date(2026, 11, 28))
    assert result["dropped"] == ["2019-03"]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert "audit_event_p201903" not in [n for n, _ in db.partitions()]
    anchor = RetentionAnchor.objects.get(month=date(2019, 3, 1))
    assert anchor.events == 1
    dropped = AuditEvent.objects.get(action="audit.partitions_dropped")
    assert dropped.object_id == "2019-03"
    # The old event was sealed first (seq 1); what is kept still verifies from the anchor on.
    assert chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_the_hourly_task_goes_on_from_the_last_intact_run(alice):
    from audit import tasks

    for _ in range(4):
        event_record(action="access.denied", actor=alice, outcome="denied")
    seal_all()
    assert tasks.verify(full=True)["ok"]
    first = VerificationRun.objects.latest("started_at")
    for _ in range(3):
        event_record(action="access.denied", actor=alice, outcome="denied")
    seal_all()
    assert tasks.verify()["ok"]
    second = VerificationRun.objects.latest("started_at")
    assert second.from_seq == first.to_seq
    assert second.checked < second.to_seq
