"""Runs: authorization, idempotency, cancel, progress, shadow comparison, feedback, schedules, ledger."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction

from audit.models import AuditEvent
from core.errors import Forbidden
from crossref import selectors, services
from crossref.models import (
    Finding,
    Partition,
    PartitionStatus,
    Run,
    RunMode,
    RunStatus,
    ScheduledRun,
)

DOB = date(1980, 1, 15)


@pytest.fixture
def data(world):
    emp = world.employer()
    world.numident("100200300", "Robert", "Chen", DOB)
    world.case(emp, "100200300", "Maria", "Garcia", date(1991, 2, 3))  # another person
    world.case(emp, "100200301", "Ana", "Silva", DOB)  # no SSA record
    for i in range(3):
        world.numident(f"20030040{i}", "Lee", "Park", DOB)
        world.case(emp, f"20030040{i}", "Lee", "Park", DOB)  # lawful
    return emp


def snapshot():
    return sorted(Finding.objects.values_list("rule_code", "subject_key", "evidence_key"))


def test_it_refuses_a_run_without_an_agreement_covering_the_categories(data, alice):
    with pytest.raises(Forbidden) as exc:
        services.run_start(actor=alice, rules=["SSA-IDENTITY"], enqueue=False)
    assert "ssa_identity" in exc.value.message
    assert not Run.objects.exists()
    assert AuditEvent.objects.filter(action="crossref.run_refused", actor_id=alice.pk).exists()


def test_it_refuses_when_the_agreement_expired(data, matcher):
    from privacy.models import Agreement

    Agreement.objects.filter(reference="cma-ssa").update(status="expired")
    with pytest.raises(Forbidden):
        services.run_start(actor=matcher, rules=["SSA-IDENTITY"], enqueue=False)
    # Rules that read only categories still covered may run.
    services.run_start(actor=matcher, rules=["DHS-NOTFOUND"], enqueue=False)


def test_a_run_records_owner_agreement_and_audit(data, matcher):
    run = services.run_start(
        actor=matcher, rules=["SSA-IDENTITY", "SSA-NOTFOUND"], enqueue=False, ssn_partitions=3
    )
    assert run.owner == matcher
    assert run.agreement_id is not None
    assert run.authorization["ssa_identity"]["agreement_id"] == run.agreement_id
    run = services.run_execute_inline(run=run)
    assert run.status == RunStatus.DONE
    actions = set(AuditEvent.objects.filter(object_id=str(run.pk)).values_list("action", flat=True))
    assert {"crossref.run_started", "crossref.run_finished"} <= actions
    assert {f.agreement_id for f in Finding.objects.all()} == {run.agreement_id}


def test_running_twice_gives_the_same_findings(data, matcher):
    services.run_execute_inline(
        run=services.run_start(actor=matcher, enqueue=False, ssn_partitions=3)
    )
    first = snapshot()
    assert first
    second_run = services.run_execute_inline(
        run=services.run_start(actor=matcher, enqueue=False, ssn_partitions=5)
    )
    assert snapshot() == first
    progress = selectors.run_progress(run=second_run)
    assert progress.total_hits == len(first)
    assert sum(progress.new_findings.values()) == 0


def test_progress_figures(data, matcher):
    run = services.run_start(
        actor=matcher, rules=["SSA-IDENTITY", "SSA-NOTFOUND"], enqueue=False, ssn_partitions=4
    )
    before = selectors.run_progress(run=run)
    assert (before.partitions_total, before.partitions_done, before.rows_examined) == (4, 0, 0)
    assert before.rows_estimated == 5
    run = services.run_execute_inline(run=run)
    after = selectors.run_progress(run=run)
    assert after.partitions_done == 4
    assert after.percent == 100
    assert after.rows_examined == 5
    assert after.hits == {"SSA-IDENTITY": 1, "SSA-NOTFOUND": 1}
    assert after.rate > 0
    assert after.eta_seconds is None


def test_the_ssn_partitions_follow_the_cases_in_scope(data, matcher, settings):
    """Unless set, one SSN partition per CASES_PER_PARTITION cases, and at least two."""
    settings.CROSSREF = {**settings.CROSSREF, "SSN_PARTITIONS": 0, "CASES_PER_PARTITION": 10_000}

    def ssn_parts(run: Run) -> int:
        return run.partitions.filter(kind=Partition.Kind.SSN).count()

    small = services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], enqueue=False)
    assert (small.rows_estimated, ssn_parts(small)) == (5, 2)
    settings.CROSSREF = {**settings.CROSSREF, "CASES_PER_PARTITION": 2}
    assert ssn_parts(services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], enqueue=False)) == 3
    settings.CROSSREF = {**settings.CROSSREF, "SSN_PARTITIONS": 7}  # set: as set
    assert ssn_parts(services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], enqueue=False)) == 7
    assert (
        ssn_parts(
            services.run_start(
                actor=matcher, rules=["SSA-NOTFOUND"], enqueue=False, ssn_partitions=4
            )
        )
        == 4
    )


def test_a_partition_records_when_it_really_ended(data, matcher, monkeypatch):
    """A partition's end is the clock's time at its done mark, not its transaction's start."""
    from crossref import engine

    run = services.run_start(actor=matcher, enqueue=False, ssn_partitions=1)
    part = run.partitions.get(kind=Partition.Kind.SSN)
    monkeypatch.setenv("CROSSREF_TEST_PAUSE_BEFORE_COMMIT", "0.3")  # the rules took 0.3 s at least
    assert engine.partition_execute(part.pk) == "done"
    part.refresh_from_db()
    assert (part.finished_at - part.started_at).total_seconds() >= 0.3


def test_cancel_stops_pending_partitions_and_running_ones_do_not_commit(data, matcher):
    from crossref import engine

    run = services.run_start(actor=matcher, enqueue=False, ssn_partitions=4)
    first = run.partitions.order_by("number").first()
    engine.partition_execute(first.pk)
    services.run_cancel(actor=matcher, run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    statuses = list(run.partitions.order_by("number").values_list("status", flat=True))
    assert statuses[0] == PartitionStatus.DONE
    assert set(statuses[1:]) <= {PartitionStatus.CANCELLED}
    # A late message for a cancelled partition does nothing.
    assert engine.partition_execute(run.partitions.order_by("number").last().pk) == "skipped"
    assert AuditEvent.objects.filter(
        action="crossref.run_cancelled", object_id=str(run.pk)
    ).exists()


def test_shadow_run_compares_versions_without_findings(world, matcher, settings):
    settings.CROSSREF = {**settings.CROSSREF, "VELOCITY_K": 2, "VELOCITY_WINDOW_DAYS": 30}
    from django.utils import timezone

    a, b = world.employer(), world.employer()
    # Hire dates close together, case dates far apart: v1 flags, v2 (case dates) does not.
    world.case(
        a,
        "900800700",
        "Ana",
        "Silva",
        DOB,
        hire_date=date(2026, 3, 2),
        created_at=timezone.now() - timedelta(days=200),
    )
    world.case(
        b, "900800700", "Ana", "Silva", DOB, hire_date=date(2026, 3, 9), created_at=timezone.now()
    )
    run = services.run_start(
        actor=matcher, mode=RunMode.SHADOW, rules=["SSN-VELOCITY"], enqueue=False
    )
    services.run_execute_inline(run=run)
    assert not Finding.objects.exists()
    [cmp] = selectors.shadow_compare(run=run)
    assert (cmp.current_version, cmp.candidate_version) == (1, 2)
    assert (cmp.current_hits, cmp.candidate_hits) == (1, 0)
    assert len(cmp.removed) == 1
    assert cmp.added == []


def test_feedback_feeds_the_quality_counts(data, matcher, sam):
    services.run_execute_inline(
        run=services.run_start(actor=matcher, enqueue=False, ssn_partitions=2)
    )
    f = Finding.objects.get(rule_code="SSA-IDENTITY")
    services.finding_feedback_record(
        actor=sam, finding_id=f.pk, outcome="dismissed", reason="same person"
    )
    q = {r.code: r for r in selectors.rule_quality()}
    assert (q["SSA-IDENTITY"].hits, q["SSA-IDENTITY"].dismissed, q["SSA-IDENTITY"].open) == (
        1,
        1,
        0,
    )
    assert q["SSA-IDENTITY"].false_positive_rate == 1.0


def test_the_ledger_hands_each_finding_out_once(data, matcher):
    services.run_execute_inline(
        run=services.run_start(actor=matcher, enqueue=False, ssn_partitions=2)
    )
    total = Finding.objects.count()
    with transaction.atomic():
        claimed = services.finding_ingest_claim(limit=1)
        services.findings_mark_ingested(finding_ids=[f.pk for f in claimed])
    with transaction.atomic():
        rest = services.finding_ingest_claim(limit=100)
    assert len(claimed) == 1
    assert len(rest) == total - 1
    assert not {f.pk for f in claimed} & {f.pk for f in rest}


def test_scheduled_runs_start_as_their_owner_under_their_agreement(data, matcher, adam):
    run_agreement = services.run_start(
        actor=matcher, rules=["SSA-IDENTITY"], enqueue=False
    ).agreement_id
    Run.objects.all().delete()
    sched = services.schedule_save(
        actor=adam,
        name="nightly",
        owner=matcher,
        agreement_id=run_agreement,
        scope={"rules": ["SSA-IDENTITY"]},
        minute="*",
        hour="*",
    )
    ScheduledRun.objects.filter(pk=sched.pk).update(
        created_at=sched.created_at - timedelta(minutes=2)
    )
    started = services.scheduled_runs_start_due()
    [run] = Run.objects.filter(pk__in=started)
    assert run.owner == matcher
    assert run.schedule == sched
    assert run.agreement_id == run_agreement
    assert services.scheduled_runs_start_due() == []  # not due again in the same minute
    ScheduledRun.objects.filter(pk=sched.pk).update(
        agreement_id=run_agreement + 999, last_started_at=None
    )
    Run.objects.all().delete()
    assert services.scheduled_runs_start_due() == []
    assert ScheduledRun.objects.get(pk=sched.pk).last_outcome.startswith("refused")


def test_the_command_runs_inline_and_reports(data, matcher, capsys):
    from django.core.management import call_command

    call_command(
        "crossref",
        "run",
        "--user",
        matcher.username,
        "--rules",
        "SSA-NOTFOUND",
        "--inline",
        "--partitions",
        "3",
    )
    out = capsys.readouterr().out
    assert "done: 3/3 partitions" in out
    assert "SSA-NOTFOUND" in out
    call_command("crossref", "quality")
    assert "SSA-NOTFOUND" in capsys.readouterr().out


def test_a_database_interruption_delays_the_partition_instead_of_failing_it(
    data, matcher, monkeypatch
):
    from django.db import OperationalError

    from crossref import engine, registry

    run = services.run_start(actor=matcher, rules=["SSA-NOTFOUND"], enqueue=False, ssn_partitions=1)
    part = run.partitions.get()
    rule = registry.get("SSA-NOTFOUND", 1)

    def broken(ctx, r):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setitem(
        registry.REGISTRY,
        ("SSA-NOTFOUND", 1),
        rule.__class__(**{**rule.__dict__, "implementation": broken}),
    )
    assert engine.partition_execute(part.pk) == "interrupted"
    part.refresh_from_db()
    assert part.status == PartitionStatus.RUNNING
    assert not Finding.objects.exists()
    monkeypatch.setitem(registry.REGISTRY, ("SSA-NOTFOUND", 1), rule)
    from datetime import timedelta

    from django.utils import timezone

    assert list(engine.expired_leases()) == []
    assert engine.partition_execute(part.pk) == "skipped"  # still leased: nobody else may take it
    Partition.objects.filter(pk=part.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert list(engine.expired_leases()) == [part.pk]
    assert engine.partition_execute(part.pk) == "done"
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert Finding.objects.filter(rule_code="SSA-NOTFOUND").count() == 1


def _stage_tables(run_id):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'p' AND relname LIKE %s",
            [f"crossref_stage_{run_id}%"],
        )
        return sorted(r[0] for r in cur.fetchall())


def _empty_stage_tables(run_id):
    """What a PostgreSQL crash leaves of the run's UNLOGGED staging tables: the tables, empty."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(_stage_tables(run_id))}")


def test_staging_is_shared_by_the_workers_and_rebuilt_after_a_crash(data, world, matcher):
    from crossref import engine

    world.dhs(a_number="A012345678", first="Wei", last="Zhang", dob=DOB)
    world.case(
        data,
        "300400500",
        "Wei",
        "Zhang",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A012345678",
    )
    world.case(
        data,
        "300400501",
        "Olga",
        "Petrova",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A099999999",
    )
    rules = ["SSA-NOTFOUND", "SSA-IDENTITY", "DHS-NOTFOUND", "DHS-IDENTITY", "EMP-LATE"]

    def per_rule(run):
        run.refresh_from_db()
        return selectors.run_progress(run=run).hits

    # The reference: every partition on a healthy database.
    reference = services.run_execute_inline(
        run=services.run_start(actor=matcher, rules=rules, enqueue=False, ssn_partitions=2)
    )
    expected = per_rule(reference)
    assert expected["DHS-NOTFOUND"] == 1  # the DHS match was found
    assert expected["SSA-NOTFOUND"] >= 3
    assert not _stage_tables(reference.pk)  # dropped with the run

    run = services.run_start(actor=matcher, rules=rules, enqueue=False, ssn_partitions=2)
    parts = list(run.partitions.order_by("number"))
    [employer] = [p for p in parts if p.kind == Partition.Kind.EMPLOYER]
    ssn_parts = [p for p in parts if p.kind == Partition.Kind.SSN]
    # The employer partition's worker matches the DHS records while the first SSN partition copies the cases.
    engine.partition_execute(employer.pk)
    assert _stage_tables(run.pk) == [f"crossref_stage_{run.pk}_dhs"]
    engine.partition_execute(ssn_parts[0].pk)
    assert len(_stage_tables(run.pk)) == 3
    # A crash empties the UNLOGGED tables: the next partition rebuilds every one of them, rather than
    # finding no case, no SSA record (every SSN "not found") or no DHS record (every A-Number "not found").
    _empty_stage_tables(run.pk)
    engine.partition_execute(ssn_parts[1].pk)
    assert per_rule(run) == expected
    assert (
        Finding.objects.filter(run=run).count() == 0
    )  # nothing new: the reference run found it all


def test_the_staging_tables_keep_the_blind_indexes_collation(data, world, matcher):
    from django.db import connection

    from crossref import engine

    world.dhs(a_number="A012345678", first="Wei", last="Zhang", dob=DOB)
    run = services.run_start(
        actor=matcher, rules=["SSA-IDENTITY", "DHS-NOTFOUND"], enqueue=False, ssn_partitions=2
    )
    [first, *_] = run.partitions.filter(kind=Partition.Kind.SSN).order_by("number")
    engine.partition_execute(first.pk)
    with connection.cursor() as cur:
        # Each staged blind index (and so the partition key routing the rows) is "C", as in the
        # source tables it is joined to; the other text columns keep the database's collation.
        cur.execute(
            "SELECT c.relname || '.' || a.attname, coalesce(co.collname, '') FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            "WHERE c.relkind = 'p' AND c.relname LIKE %s AND a.attname IN ('ssn_bidx', 'a_number_bidx', 'first_name')",
            [f"crossref_stage_{run.pk}%"],
        )
        collations = dict(cur.fetchall())
        cur.execute(
            "SELECT c.relname, co.collname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_collation co ON co.oid = p.partcollation[0] WHERE c.relname LIKE %s",
            [f"crossref_stage_{run.pk}%"],
        )
        keys = dict(cur.fetchall())
    stage = f"crossref_stage_{run.pk}"
    assert collations[f"{stage}.ssn_bidx"] == "C"
    assert collations[f"{stage}.a_number_bidx"] == "C"
    assert collations[f"{stage}_ssa.ssn_bidx"] == "C"
    assert collations[f"{stage}_dhs.ssn_bidx"] == "C"
    assert collations[f"{stage}.first_name"] == "default"
    assert keys == {stage: "C", f"{stage}_ssa": "C", f"{stage}_dhs": "C"}


def test_the_employer_worker_leaves_the_dhs_step_to_a_worker_already_building_it(data, matcher):
    import psycopg2
    from django.db import connection

    from crossref import engine

    run = services.run_start(
        actor=matcher, rules=["DHS-NOTFOUND", "EMP-LATE"], enqueue=False, ssn_partitions=2
    )
    settings_dict = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings_dict["NAME"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
    )
    try:
        with other.cursor() as cur:  # another worker, half-way through the step
            cur.execute(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('crossref-stage-dhs'), %s)", [run.pk]
            )
            engine.stage_prepare(
                run
            )  # returns at once instead of waiting behind it, and builds nothing
            assert not _stage_tables(run.pk)
            cur.execute("ROLLBACK")
        engine.stage_prepare(run)
        assert _stage_tables(run.pk) == [f"crossref_stage_{run.pk}_dhs"]
    finally:
        other.close()
    # Once no SSN partition is left to need it, there is nothing to prepare.
    later = services.run_start(
        actor=matcher, rules=["DHS-NOTFOUND", "EMP-LATE"], enqueue=False, ssn_partitions=2
    )
    later.partitions.filter(kind=Partition.Kind.SSN).update(status=PartitionStatus.DONE)
    engine.stage_prepare(later)
    assert not _stage_tables(later.pk)
