from datetime import UTC, date, datetime

from django.db import connection

from core.inserts import _statement, prepared_values
from verification.models import CaseComparison, ComparisonOutcome, Worker


def _orm_values(fields, obj):
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def test_values_written_as_they_are_match_what_the_orm_would_write():
    row = CaseComparison(
        case_id=12,
        source="ssa",
        field="last_name",
        outcome=ComparisonOutcome.MATCH,
        submitted_value="Garcia",
        reference_value="",
        score=0.97,
        hint="",
        reference_id=None,
        created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    )
    fields, _ = _statement(CaseComparison, with_pk=False, suffix="")
    assert prepared_values(fields, row, connection) == _orm_values(fields, row)


def test_values_of_another_type_are_still_converted_by_their_field():
    row = CaseComparison(
        case_id="12", source="ssa", field="dob", outcome="match", score=1, reference_id="42"
    )
    fields, _ = _statement(CaseComparison, with_pk=False, suffix="")
    values = dict(
        zip([f.attname for f in fields], prepared_values(fields, row, connection), strict=True)
    )
    assert [(values[k], type(values[k])) for k in ("case_id", "reference_id", "score")] == [
        (12, int),
        (42, int),
        (1.0, float),
    ]


def test_a_date_field_given_a_datetime_writes_its_date():
    worker = Worker(
        employer_id=1, first_name="Ana", last_name="Lopez", date_of_birth=date(1990, 5, 6)
    )
    fields, _ = _statement(Worker, with_pk=False, suffix="")
    plain = dict(
        zip([f.attname for f in fields], prepared_values(fields, worker, connection), strict=True)
    )
    assert plain["date_of_birth"] == date(1990, 5, 6)
    worker.date_of_birth = datetime(1990, 5, 6, 12, 0)  # naive: the ORM takes its date
    converted = dict(
        zip([f.attname for f in fields], prepared_values(fields, worker, connection), strict=True)
    )
    assert converted["date_of_birth"] == date(1990, 5, 6)
    assert type(converted["date_of_birth"]) is date
