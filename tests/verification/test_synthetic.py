"""The synthetic generator: reproducible, loadable, and its labels agree with the instant result."""

from collections import Counter
from datetime import date

import pytest

from synthetic import columns as cols
from synthetic.generate import LABELS, build, labels_for, load_world, write_files
from synthetic.variants import KINDS as VARIANT_KINDS
from verification.instant import Submitted, instant_result
from verification.models import CaseStatus, Numident, VerificationCase, Worker

AS_OF = date(2026, 11, 2)


@pytest.fixture(scope="module")
def world():
    return build(n_employers=30, n_cases=1500, seed=11, as_of=AS_OF)


def test_the_same_seed_gives_the_same_world(world):
    again = build(n_employers=30, n_cases=1500, seed=11, as_of=AS_OF)
    assert [cols.case_values(world, c) for c in range(0, 1500, 37)] == [
        cols.case_values(again, c) for c in range(0, 1500, 37)
    ]
    other = build(n_employers=30, n_cases=1500, seed=12, as_of=AS_OF)
    assert cols.case_values(world, 5) != cols.case_values(other, 5)


def test_labels_use_the_documented_vocabulary(world):
    labels = Counter(label for label, _ in labels_for(world).values())
    assert set(labels) <= set(LABELS)
    assert labels["none"] > 1300
    for kind in ("clerical", "fraud:ssn_reuse", "fraud:deceased", "employer:late_case"):
        assert labels[kind] > 0, kind


def test_enforcement_subjects_are_one_in_twenty_cases_and_every_hit_is_one(world):
    # Issue 4's P1 data: 50k enforcement subjects for 1M cases.
    assert len(world.s["person"]) == 1500 // 20
    hits = {
        c for c in range(world.n_cases) if LABELS[world.cl["label"][c]] == "fraud:enforcement_hit"
    }
    planted = {c for c in world.sl["case"] if c >= 0}
    assert hits
    assert planted == hits


def test_stranger_subjects_are_drawn_like_workers_but_are_no_worker(world):
    # Hard negatives: the subjects who are no hit share the workers' birth years and name pools
    # (common surnames included), never a worker's exact name and date of birth. Some are partial
    # (no date of birth, no given name, an alias only), as many as of the links.
    from synthetic import rows

    workers = [cols.case_values(world, c) for c in range(world.n_cases)]
    worker_dobs = sorted(v[3] for v in workers)
    strangers = [rows.enforcement_row(world, k) for k, p in enumerate(world.sl["person"]) if p < 0]
    assert strangers
    dobs = sorted(s["date_of_birth"] for s in strangers if s["date_of_birth"])
    lo, hi = worker_dobs[len(worker_dobs) // 20], worker_dobs[-len(worker_dobs) // 20]
    inside = sum(lo <= d <= hi for d in dobs)
    assert inside >= 0.8 * len(dobs)
    worker_surnames = {v[2].split()[0] for v in workers}
    named = [s for s in strangers if s["last_name"]]
    assert sum(s["last_name"].split()[0] in worker_surnames for s in named) >= 0.9 * len(named)
    twins = {(v[1], v[2].split()[0], v[3]) for v in workers}
    assert not [
        s
        for s in named
        if (s["first_name"], s["last_name"].split()[0], s["date_of_birth"]) in twins
    ]
    # Documents are plausible and never a worker's (a decoy's SSN is one digit off one).
    docs = {s["documents"].partition(":")[2] or s["documents"] for s in strangers if s["documents"]}
    assert docs
    assert not docs & {v[4] for v in workers}
    assert not docs & {v[6] for v in workers}
    assert not docs & {v[12] for v in workers}
    # The same seed, the same strangers.
    again = build(n_employers=30, n_cases=1500, seed=11, as_of=AS_OF)
    assert [rows.enforcement_row(again, k) for k in range(len(strangers))] == [
        rows.enforcement_row(world, k) for k in range(len(strangers))
    ]


def test_files_are_written_in_the_loader_format(world, tmp_path):
    from verification.loading import COLUMNS

    paths = write_files(world, tmp_path)
    for source in ("ssa", "dhs", "enforcement"):
        header = paths[f"{source}.csv"].read_text().splitlines()[0].split(",")
        assert header == COLUMNS[source]
    assert len(paths["labels.csv"].read_text().splitlines()) == 1501


@pytest.mark.django_db
def test_the_loaded_files_pass_load_reference(world, tmp_path):
    from verification.loading import load_reference

    paths = write_files(world, tmp_path)
    for source in ("ssa", "dhs", "enforcement"):
        report = load_reference(source=source, path=paths[f"{source}.csv"])
        assert report.error_count == 0, report.errors[:5]


@pytest.mark.django_db
def test_load_world_loads_everything_sealed(world):
    summary = load_world(world, workers=1)
    assert VerificationCase.objects.count() == 1500
    assert Numident.objects.current().count() == world.n_people
    assert Worker.objects.count() == summary.rows["workers"]
    case = VerificationCase.objects.get(employer_case_id="S11-00000007")
    from verification.identifiers import reveal

    assert reveal(case, "ssn") == cols.case_values(world, 7)[4]


@pytest.mark.django_db
def test_labels_agree_with_the_instant_result(world):
    load_world(world, workers=1)
    fields = cols.CASE_FIELDS
    wrong = []
    for c in range(world.n_cases):
        v = dict(zip(fields, cols.case_values(world, c), strict=True))
        label, detail = v["label"], v["detail"]
        sub = Submitted(
            first_name=v["first_name"],
            last_name=v["last_name"],
            other_last_names="",
            date_of_birth=date.fromisoformat(v["date_of_birth"]),
            ssn=v["ssn"],
            citizenship_status=v["citizenship_status"],
            hire_date=date.fromisoformat(v["hire_date"]),
            a_number=v["a_number"],
            i94=v["i94"],
            passport=v["passport"],
            passport_country=v["passport_country"],
        )
        result = instant_result(sub, today=AS_OF)
        if detail in VARIANT_KINDS:
            # Issue 17's variants are what today's matcher gets wrong (a nickname it does not know,
            # a short name's typo, a date one digit off): the benchmark counts those per kind. Here:
            # lawful but for the names and the date of birth (tests/synthetic checks each kind).
            disagreeing = {x.result.field for x in result.comparisons if x.result.disagrees}
            if not disagreeing <= {"first_name", "last_name", "date_of_birth"}:
                wrong.append((c, label, detail, result.status, sorted(disagreeing)))
            continue
        ok = {
            "none": result.status == CaseStatus.EMPLOYMENT_AUTHORIZED,
            "clerical": result.status == CaseStatus.TENTATIVE_NONCONFIRMATION
            and any(x.result.hint == detail for x in result.comparisons),
            "fraud:deceased": any(x.result.hint == "deceased" for x in result.comparisons),
            "fraud:locked": any(x.result.hint == "locked" for x in result.comparisons),
            "fraud:expired_authorization": any(
                x.result.hint == "expired" for x in result.comparisons
            ),
            "fraud:ssn_reuse": result.status == CaseStatus.EMPLOYMENT_AUTHORIZED,
        }.get(label, True)
        if not ok:
            wrong.append(
                (
                    c,
                    label,
                    detail,
                    result.status,
                    [
                        (x.source, x.result.field, x.result.outcome, x.result.hint)
                        for x in result.comparisons
                        if x.result.outcome != "match"
                    ],
                )
            )
    assert wrong == []


@pytest.mark.django_db
def test_a_bulk_load_into_empty_tables_rebuilds_indexes_and_foreign_keys(world):
    from synthetic.indexes import BULK_MODELS, _foreign_keys, _secondary_indexes

    indexes, keys = sorted(_secondary_indexes(BULK_MODELS)), sorted(_foreign_keys(BULK_MODELS))
    summary = load_world(world, workers=1, rebuild_indexes=True)
    assert "indexes" in summary.build_seconds
    assert sorted(_secondary_indexes(BULK_MODELS)) == indexes
    assert sorted(_foreign_keys(BULK_MODELS)) == keys
    assert VerificationCase.objects.count() == 1500


@pytest.mark.django_db
def test_a_bulk_load_skips_row_history_and_turns_it_back_on(world):
    from django.db import connection

    from audit.models import RowChange

    before = RowChange.objects.filter(table_name=VerificationCase._meta.db_table).count()
    load_world(world, workers=1, rebuild_indexes=True)
    assert RowChange.objects.filter(table_name=VerificationCase._meta.db_table).count() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'audit_row_history' AND c.relname = %s",
            [VerificationCase._meta.db_table],
        )
        assert cursor.fetchone() == ("O",)  # enabled again
    VerificationCase.objects.filter(pk=VerificationCase.objects.first().pk).update(
        last_name="Changed"
    )
    assert (
        RowChange.objects.filter(table_name=VerificationCase._meta.db_table).count() == before + 1
    )
