"""The import bench's write floor: the import's own rows, copied again into faithful empty tables."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from tests.verification.test_import import csv_bytes, people, stage
from verification.imports.jobs import import_run
from verification.models import CaseComparison, VerificationCase

bench_import = importlib.import_module("bench.import")  # "import" is a keyword

pytestmark = pytest.mark.django_db


def _catalog(table: str) -> tuple[int, list[str], list[str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])
        indexes = cur.fetchone()[0]
        cur.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1",
            [table],
        )
        references = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        return indexes, references, sorted(r[0] for r in cur.fetchall())


def test_the_floor_tables_have_the_product_tables_indexes_foreign_keys_and_triggers():
    case, comp = VerificationCase._meta.db_table, CaseComparison._meta.db_table
    with connection.cursor() as cur:
        bench_import._floor_tables(cur)
    try:
        indexes, references, triggers = _catalog(bench_import.FLOOR_CASE)
        product_indexes, product_references, product_triggers = _catalog(case)
        assert (indexes, triggers) == (product_indexes, product_triggers)
        assert triggers == ["audit_row_history"]
        # The cases' references to themselves point at the copy, the others where they were.
        assert references == sorted(
            bench_import.FLOOR_CASE if r == case else r for r in product_references
        )
        comp_indexes, comp_references, _ = _catalog(bench_import.FLOOR_COMPARISON)
        assert comp_references == [bench_import.FLOOR_CASE]
        assert comp_indexes == _catalog(comp)[0]
    finally:
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE {bench_import.FLOOR_COMPARISON}, {bench_import.FLOOR_CASE}")


def test_the_floor_copies_every_case_and_comparison_of_the_import_and_leaves_nothing(employer, ssa):
    job = import_run(job_id=stage(employer, csv_bytes(people())).pk)
    cases = VerificationCase.objects.filter(employer=employer).count()
    comparisons = CaseComparison.objects.filter(case__employer=employer).count()
    assert job.rows_imported == cases == 5
    assert comparisons > cases

    seconds, cpu, n_cases, n_comps = bench_import._write_floor(employer.pk)

    assert (n_cases, n_comps) == (cases, comparisons)
    assert seconds > 0
    assert cpu >= 0
    with connection.cursor() as cur:
        cur.execute(
            "SELECT to_regclass(%s), to_regclass(%s)",
            [bench_import.FLOOR_CASE, bench_import.FLOOR_COMPARISON],
        )
        assert cur.fetchone() == (None, None)
    assert VerificationCase.objects.filter(employer=employer).count() == cases
