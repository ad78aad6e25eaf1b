"""Reference loads: good, bad and mixed files; nothing half-loaded; vintages replace atomically."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from tests.verification.conftest import person, write_csv
from verification.loading import LoadRefused, load_reference
from verification.models import (
    EnforcementSubject,
    ImmigrationRecord,
    LoadStatus,
    Numident,
    ReferenceLoad,
)

pytestmark = pytest.mark.django_db

GOOD = [person("521874390"), person("234567890", first_name="José", last_name="Hernández-Díaz")]
BAD_ROWS = [
    person("000123456"),  # invalid SSN area
    person("345678901", first_name="R2D2"),
    person("456789012", date_of_birth="1990-02-30"),
    person("567890123", citizenship="martian"),
    person("678901234", locked="maybe"),
]


def test_a_good_file_loads_with_provenance(tmp_path):
    path = write_csv(tmp_path / "ssa.csv", "ssa", GOOD)
    report = load_reference(source="ssa", path=path)
    assert report.rows_loaded == 2
    load = ReferenceLoad.objects.get()
    assert load.status == LoadStatus.CURRENT
    assert (load.row_count, load.source_agency, load.file_name) == (2, "ssa", "ssa.csv")
    assert len(load.checksum) == 64
    assert Numident.objects.current().count() == 2
    assert AuditEvent.objects.filter(action="reference.loaded").exists()


def test_a_bad_file_loads_nothing_and_reports_line_numbers(tmp_path):
    path = write_csv(tmp_path / "ssa.csv", "ssa", GOOD + BAD_ROWS)
    with pytest.raises(LoadRefused) as exc:
        load_reference(source="ssa", path=path)
    errors = exc.value.report.errors
    assert [(e.line, e.column) for e in errors] == [
        (4, "ssn"),
        (5, "first_name"),
        (6, "date_of_birth"),
        (7, "citizenship"),
        (8, "locked"),
    ]
    assert Numident.objects.count() == 0
    assert ReferenceLoad.objects.count() == 0
    assert "000123456" not in str(errors)


def test_skip_invalid_loads_the_good_rows_and_reports_the_rest(tmp_path):
    path = write_csv(tmp_path / "ssa.csv", "ssa", GOOD + BAD_ROWS)
    report = load_reference(source="ssa", path=path, skip_invalid=True)
    assert (report.rows_loaded, report.error_count) == (2, 5)
    assert ReferenceLoad.objects.get().rows_rejected == 5


def test_a_new_vintage_replaces_the_current_one_and_the_old_stays_recorded(tmp_path):
    first = load_reference(source="ssa", path=write_csv(tmp_path / "a.csv", "ssa", GOOD)).load
    second = load_reference(source="ssa", path=write_csv(tmp_path / "b.csv", "ssa", GOOD[:1])).load
    first.refresh_from_db()
    assert first.status == LoadStatus.SUPERSEDED
    assert second.status == LoadStatus.CURRENT
    assert Numident.objects.current().count() == 1
    assert Numident.objects.count() == 3


def test_a_refused_vintage_leaves_the_current_one_in_place(tmp_path):
    load_reference(source="ssa", path=write_csv(tmp_path / "a.csv", "ssa", GOOD))
    with pytest.raises(LoadRefused):
        load_reference(source="ssa", path=write_csv(tmp_path / "b.csv", "ssa", BAD_ROWS))
    assert Numident.objects.current().count() == 2


def test_dhs_and_enforcement_files(tmp_path):
    dhs = write_csv(
        tmp_path / "dhs.csv",
        "dhs",
        [
            {
                "a_number": "A12345678",
                "first_name": "Nadia",
                "last_name": "Haddad",
                "date_of_birth": "1992-02-20",
                "class_of_admission": "c09",
                "work_authorized_from": "2020-01-01",
                "work_authorized_until": "2027-01-01",
            },
            {
                "i94": "12345678901",
                "first_name": "Li",
                "last_name": "Wei",
                "date_of_birth": "1988-07-01",
            },
        ],
    )
    assert load_reference(source="dhs", path=dhs).rows_loaded == 2
    record = ImmigrationRecord.objects.get(a_number_last4="5678")
    assert record.class_of_admission == "C09"
    enforcement = write_csv(
        tmp_path / "enf.csv",
        "enforcement",
        [
            {
                "subject_ref": "E-1",
                "first_name": "Viktor",
                "last_name": "Volkov",
                "aliases": "V Volkov|Vic Volkov",
                "date_of_birth": "1960-01-01",
                "nationality": "RUS",
                "documents": "X1234567|Y7654321",
                "status": "wanted",
            },
        ],
    )
    assert load_reference(source="enforcement", path=enforcement).rows_loaded == 1
    subject = EnforcementSubject.objects.get()
    assert subject.aliases == ["V Volkov", "Vic Volkov"]
    assert len(subject.documents_bidx) == 2
    assert "X1234567" not in str(subject.documents_enc)


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ({"first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01"}, "a_number"),
        (
            {"a_number": "12", "first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01"},
            "a_number",
        ),
        (
            {
                "a_number": "123456789",
                "first_name": "A",
                "last_name": "B",
                "date_of_birth": "1990-01-01",
                "work_authorized_from": "2020-01-01",
                "work_authorized_until": "2019-01-01",
            },
            "work_authorized_until",
        ),
        (
            {
                "a_number": "123456789",
                "first_name": "A",
                "last_name": "B",
                "date_of_birth": "1990-01-01",
                "country_of_birth": "Mexico",
            },
            "country_of_birth",
        ),
    ],
)
def test_dhs_rows_are_validated(tmp_path, row, column):
    with pytest.raises(LoadRefused) as exc:
        load_reference(source="dhs", path=write_csv(tmp_path / "dhs.csv", "dhs", [row]))
    assert exc.value.report.errors[0].column == column


def test_a_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n")
    with pytest.raises(CommandError):
        call_command("load_reference", str(path), "--source", "ssa", "--no-progress")


def _refusal(path, source="ssa"):
    """What `load_reference` says of a refused file: its message, and that nothing loaded."""
    before = (ReferenceLoad.objects.count(), Numident.objects.count())
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("load_reference", str(path), "--source", source, "--no-progress", stderr=err)
    assert (ReferenceLoad.objects.count(), Numident.objects.count()) == before
    return str(exc.value) + err.getvalue()


def test_a_spreadsheets_byte_order_mark_and_padded_or_capitalised_header_names_load(tmp_path):
    text = write_csv(tmp_path / "a.csv", "ssa", GOOD).read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path = tmp_path / "excel.csv"
    padded = ", ".join(name.upper() if name == "ssn" else name for name in header.split(","))
    path.write_bytes(b"\xef\xbb\xbf" + (padded + "\r\n" + rest).encode())
    assert load_reference(source="ssa", path=path).rows_loaded == 2
    assert sorted(Numident.objects.values_list("first_name", flat=True)) == ["José", "Maria"]


def test_citizenship_is_read_whatever_its_case(tmp_path):
    path = write_csv(tmp_path / "ssa.csv", "ssa", [person("521874390", citizenship=" CITIZEN ")])
    assert load_reference(source="ssa", path=path).rows_loaded == 1
    assert Numident.objects.get().citizenship == "citizen"


def test_a_semicolon_separated_extract_loads(tmp_path):
    text = write_csv(tmp_path / "a.csv", "ssa", GOOD).read_text(encoding="utf-8")
    path = tmp_path / "semicolons.csv"
    path.write_text(text.replace(",", ";"), encoding="utf-8")
    assert load_reference(source="ssa", path=path).rows_loaded == 2
    assert Numident.objects.filter(last_name="Hernández-Díaz").exists()


def test_a_file_that_is_not_utf8_is_refused_at_its_line(tmp_path):
    text = write_csv(tmp_path / "a.csv", "ssa", GOOD).read_text(encoding="utf-8")
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("latin-1"))  # "José" on line 3
    said = _refusal(path)
    assert "Line 3: not UTF-8 text" in said


def test_control_characters_are_refused_at_their_line_and_column(tmp_path):
    """A NUL would fail the COPY itself (PostgreSQL text cannot hold one): refused in pass 1."""
    path = write_csv(
        tmp_path / "enf.csv",
        "enforcement",
        [
            _subject(subject_ref="E-1", last_name="Volkov"),
            _subject(subject_ref="E-\x002", last_name="Petrov"),
            _subject(subject_ref="E-3", last_name="Orlov", status="wanted\x07"),
        ],
    )
    with pytest.raises(LoadRefused) as exc:
        load_reference(source="enforcement", path=path)
    assert [(e.line, e.column) for e in exc.value.report.errors] == [
        (3, "subject_ref"),
        (4, "status"),
    ]
    assert "Control characters" in exc.value.report.errors[0].message
    assert not EnforcementSubject.objects.exists()


def test_an_empty_extract_never_replaces_the_current_vintage(tmp_path):
    """A new vintage supersedes the current one: a header alone, or rows all skipped as invalid,
    would leave the source empty. Refused; the current vintage stays."""
    current = load_reference(source="ssa", path=write_csv(tmp_path / "a.csv", "ssa", GOOD)).load
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "The file is empty" in _refusal(empty)
    header_only = write_csv(tmp_path / "header.csv", "ssa", [])
    assert "a header but no rows" in _refusal(header_only)
    all_bad = write_csv(tmp_path / "bad.csv", "ssa", BAD_ROWS)
    with pytest.raises(LoadRefused):
        load_reference(source="ssa", path=all_bad, skip_invalid=True)
    current.refresh_from_db()
    assert current.status == LoadStatus.CURRENT
    assert Numident.objects.current().count() == 2


def test_a_column_given_twice_is_refused_not_read_from_one_of_them(tmp_path):
    text = write_csv(tmp_path / "a.csv", "ssa", GOOD).read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    lines = [line + ",1999-01-01" for line in rest.splitlines()]
    path = tmp_path / "twice.csv"
    path.write_text(header + ",date_of_birth\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert "column(s) given twice: date_of_birth" in _refusal(path)


def test_the_command_prints_rows_per_second(tmp_path):
    out = StringIO()
    call_command(
        "load_reference",
        str(write_csv(tmp_path / "ssa.csv", "ssa", GOOD)),
        "--source",
        "ssa",
        "--no-progress",
        "--vintage",
        "2026-10-01",
        stdout=out,
    )
    assert "rows/s" in out.getvalue()
    assert ReferenceLoad.objects.get().vintage.isoformat() == "2026-10-01"


def test_the_command_reports_bad_lines_and_loads_nothing(tmp_path):
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command(
            "load_reference",
            str(write_csv(tmp_path / "ssa.csv", "ssa", GOOD + BAD_ROWS)),
            "--source",
            "ssa",
            "--no-progress",
            stderr=err,
        )
    assert "line 4: ssn" in err.getvalue()
    assert Numident.objects.count() == 0


def test_the_command_skips_invalid_rows_when_asked(tmp_path):
    call_command(
        "load_reference",
        str(write_csv(tmp_path / "ssa.csv", "ssa", GOOD + BAD_ROWS)),
        "--source",
        "ssa",
        "--no-progress",
        "--skip-invalid",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert Numident.objects.current().count() == 2


def test_generate_synthetic_writes_files_with_labels(tmp_path):
    out = StringIO()
    call_command(
        "generate_synthetic",
        "--employers",
        "5",
        "--cases",
        "60",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
        stdout=out,
    )
    assert (tmp_path / "labels.csv").exists()
    assert (tmp_path / "ssa.csv").exists()
    assert Numident.objects.count() == 0


def test_generate_synthetic_loads_into_the_database(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command(
        "generate_synthetic",
        "--employers",
        "5",
        "--cases",
        "60",
        "--seed",
        "3",
        "--workers",
        "1",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    from verification.models import VerificationCase

    assert VerificationCase.objects.count() == 60
    assert (tmp_path / "synthetic" / "seed-3" / "labels.csv").exists()


def _subject(**overrides):
    row = {
        "subject_ref": "E-9",
        "first_name": "",
        "last_name": "",
        "aliases": "",
        "date_of_birth": "",
        "nationality": "",
        "documents": "",
        "status": "wanted",
    }
    row.update(overrides)
    return row


def test_partial_enforcement_subjects_load(tmp_path):
    """Enforcement records are often partial: a surname and a document, an alias, no date."""
    path = write_csv(
        tmp_path / "enf.csv",
        "enforcement",
        [
            _subject(subject_ref="E-1", last_name="Volkov", documents="512345678"),
            _subject(subject_ref="E-2", aliases="Vic Volkov"),
            _subject(subject_ref="E-3", documents="X1234567"),
            _subject(subject_ref="E-4", first_name="Ivan", last_name="Petrov"),  # no date
        ],
    )
    assert load_reference(source="enforcement", path=path).rows_loaded == 4
    only_surname = EnforcementSubject.objects.get(subject_ref="E-1")
    assert (only_surname.first_name, only_surname.date_of_birth) == ("", None)
    assert len(only_surname.documents_bidx) == 1
    assert EnforcementSubject.objects.get(subject_ref="E-2").aliases == ["Vic Volkov"]
    assert EnforcementSubject.objects.get(subject_ref="E-4").date_of_birth is None


def test_a_subject_with_nothing_identifying_is_refused_and_nothing_loads(tmp_path):
    path = write_csv(
        tmp_path / "enf.csv",
        "enforcement",
        [
            _subject(subject_ref="E-1", last_name="Volkov"),
            _subject(subject_ref="E-2", first_name="Ivan", date_of_birth="1970-01-01"),
        ],
    )
    with pytest.raises(LoadRefused) as exc:
        load_reference(source="enforcement", path=path)
    [error] = exc.value.report.errors
    assert (error.line, error.column) == (3, "last_name")
    assert "Nothing identifies" in error.message
    assert not EnforcementSubject.objects.exists()


def test_subject_documents_are_typed_and_indexed_by_their_kind(tmp_path):
    from privacy import crypto
    from verification import validation

    path = write_csv(
        tmp_path / "enf.csv",
        "enforcement",
        [
            _subject(
                subject_ref="E-1",
                last_name="Volkov",
                documents="ssn:521-87-4390|a_number:A123456789|X1234567",
            )
        ],
    )
    load_reference(source="enforcement", path=path)
    bidx = set(EnforcementSubject.objects.get().documents_bidx)
    assert crypto.blind_index("521874390", kind="ssn") in bidx  # meets a case's SSN
    # indexed as the case side indexes it: the number as the A-Number rule normalizes it
    assert crypto.blind_index(validation.a_number("A123456789"), kind="a_number") in bidx
    assert crypto.blind_index("X1234567", kind="document") in bidx  # untyped: a document number
    assert crypto.blind_index("521874390", kind="document") not in bidx


def test_a_badly_typed_document_is_refused_by_its_kinds_rule(tmp_path):
    path = write_csv(
        tmp_path / "enf.csv", "enforcement", [_subject(last_name="Volkov", documents="ssn:12")]
    )
    with pytest.raises(LoadRefused) as exc:
        load_reference(source="enforcement", path=path)
    assert [(e.line, e.column) for e in exc.value.report.errors] == [(2, "documents")]
