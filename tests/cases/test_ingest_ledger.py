"""The ingest ledger under real concurrency: two database connections, interleaved commits.

No id high-water mark: a finding whose id was allocated early but committed late is still
ingested; rows another worker holds are skipped, and come back if that worker dies; running
ingest workers side by side ingests every finding exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from cases.models import Case, CaseFinding
from cases.services import findings_ingest, findings_ingest_all
from crossref.models import Finding
from tests.cases.conftest import finding, verification_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def in_thread(fn: Callable[[], None]) -> threading.Thread:
    """Run `fn` on its own database connection."""

    def run() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_finding_committed_late_with_a_lower_id_is_still_ingested(routing, acme):
    early_id_allocated = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                vc = verification_case(acme, ssn="100200300", first="Late", last="Writer")
                finding(vcase=vc, rule="ssa.deceased", evidence="numident:late")
                early_id_allocated.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)

    writer = in_thread(slow_writer)
    assert early_id_allocated.wait(10)
    vc = verification_case(acme, ssn="400500600", first="Quick", last="Writer")
    quick = finding(vcase=vc, rule="ssa.name_mismatch")
    assert findings_ingest().claimed == 1  # only the committed one is visible
    late = Finding.objects.filter(rule_code="ssa.deceased")
    assert not late.exists()
    release.set()
    writer.join(10)
    assert not errors
    late_finding = late.get()
    assert late_finding.pk < quick.pk  # allocated first, committed last
    assert findings_ingest().claimed == 1
    assert CaseFinding.objects.filter(finding=late_finding).count() == 1
    assert Case.objects.count() == 2


def test_rows_held_by_another_worker_are_skipped_and_come_back_if_it_dies(routing, acme):
    vcs = [
        verification_case(acme, ssn=f"70000000{i}", first="Held", last=f"Row{i}") for i in range(4)
    ]
    found = [finding(vcase=vc) for vc in vcs]
    held = threading.Event()
    die = threading.Event()

    def dying_worker() -> None:
        from crossref.services import finding_ingest_claim

        with transaction.atomic():
            claimed = finding_ingest_claim(limit=2)
            assert [f.pk for f in claimed] == [found[0].pk, found[1].pk]
            held.set()
            die.wait(10)
            transaction.set_rollback(True)  # the worker dies: its claim is rolled back

    worker = in_thread(dying_worker)
    assert held.wait(10)
    result = findings_ingest(limit=10)
    assert result.claimed == 2  # the two rows the other worker holds are skipped, not waited for
    assert set(CaseFinding.objects.values_list("finding_id", flat=True)) == {
        found[2].pk,
        found[3].pk,
    }
    die.set()
    worker.join(10)
    assert findings_ingest(limit=10).claimed == 2  # the dead worker's rows are claimable again
    assert CaseFinding.objects.count() == 4


def test_parallel_workers_ingest_every_finding_exactly_once(routing, acme):
    people = [
        verification_case(acme, ssn=f"8{i:08d}", first="P", last=f"Person{i}") for i in range(30)
    ]
    for i, vc in enumerate(people):
        finding(vcase=vc, rule="ssa.name_mismatch")
        finding(vcase=vc, rule="ssn.velocity", family="ssn", evidence=f"velocity:{i}")
    counts: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            counts.append(findings_ingest_all(batch=7))
        except BaseException as exc:
            errors.append(exc)

    threads = [in_thread(worker) for _ in range(3)]
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(counts) == 60
    assert CaseFinding.objects.count() == 60
    assert Case.objects.count() == 30  # grouped by person even when two workers met the same person
    assert not Finding.objects.filter(ingested_at__isnull=True).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT finding_id, count(*) FROM cases_casefinding GROUP BY finding_id HAVING count(*) > 1"
        )
        assert cursor.fetchall() == []
