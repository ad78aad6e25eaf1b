"""Loading reference extracts (SSA, DHS, enforcement CSV files) with COPY.

A load runs in two passes over the file:

1. **Validate** every row, collecting a line-numbered error report. A file with any bad row
   loads nothing, unless `skip_invalid` is set, which loads the good rows and reports the rest.
2. **Seal and copy**: identifiers are encrypted (bound to their row ids, taken from the table's
   sequence beforehand) and blind-indexed, and the rows stream into PostgreSQL with COPY.

The copy, the provenance row and the switch of the source's current vintage happen in one
transaction: readers see the old vintage or the new one, never a half-loaded file. The old
vintage is kept (superseded) for provenance until retention removes it.

CSV columns per source (header row required, UTF-8, dates as YYYY-MM-DD, lists split by "|"):
- ssa: ssn, first_name, middle_name, last_name, date_of_birth, citizenship, death_date, locked
- dhs: a_number, i94, passport, passport_country, first_name, last_name, date_of_birth,
  country_of_birth, class_of_admission, work_authorized_from, work_authorized_until, naturalized_on
- enforcement: subject_ref, first_name, last_name, aliases, date_of_birth, nationality, documents, status
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from django.db import connection, transaction
from django.utils import timezone

from audit.services import event_record
from core.errors import ValidationFailed
from privacy import crypto
from verification import validation
from verification.copying import MODELS, copy_line, copy_rows
from verification.imports.reading import csv_reader, first_undecodable_line
from verification.models import (
    LoadStatus,
    NumidentCitizenship,
    ReferenceLoad,
    ReferenceSource,
)
from verification.validation import FieldInvalid

COLUMNS: dict[str, list[str]] = {
    ReferenceSource.SSA: [
        "ssn",
        "first_name",
        "middle_name",
        "last_name",
        "date_of_birth",
        "citizenship",
        "death_date",
        "locked",
    ],
    ReferenceSource.DHS: [
        "a_number",
        "i94",
        "passport",
        "passport_country",
        "first_name",
        "last_name",
        "date_of_birth",
        "country_of_birth",
        "class_of_admission",
        "work_authorized_from",
        "work_authorized_until",
        "naturalized_on",
    ],
    ReferenceSource.ENFORCEMENT: [
        "subject_ref",
        "first_name",
        "last_name",
        "aliases",
        "date_of_birth",
        "nationality",
        "documents",
        "status",
    ],
}


DEFAULT_AGENCY: dict[str, str] = {
    ReferenceSource.SSA: "ssa",
    ReferenceSource.DHS: "uscis",
    ReferenceSource.ENFORCEMENT: "ice-hsi",
}


MAX_REPORTED_ERRORS = 1000


@dataclass
class RowError:
    """One refused row: its line in the file, the column and why."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass
class LoadReport:
    """What a load did (or would have done)."""

    source: str
    rows_total: int = 0
    rows_loaded: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    seconds: float = 0.0
    copy_seconds: float = 0.0
    load: ReferenceLoad | None = None

    @property
    def rows_per_second(self) -> float:
        """Rows loaded per second over the whole load."""
        return self.rows_loaded / self.seconds if self.seconds else 0.0


class LoadRefused(ValidationFailed):
    """The file has bad rows and skip_invalid is off: nothing was loaded."""

    def __init__(self, report: LoadReport):
        super().__init__(f"{report.error_count} invalid row(s); nothing was loaded.")
        self.report = report


def _date(value: str, *, required: bool) -> date | None:
    if not value:
        if required:
            raise FieldInvalid("A date is required.")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldInvalid("Not a date as YYYY-MM-DD.") from exc


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "t", "y", "yes"):
        return True
    if lowered in ("", "0", "false", "f", "n", "no"):
        return False
    raise FieldInvalid("Not a boolean (true/false).")


def _country(value: str) -> str:
    return validation.country(value) if value else ""


def _plain(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise FieldInvalid(f"At most {max_length} characters.")
    if "\\" in value or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise FieldInvalid(
            "Control characters (tabs, line breaks, NUL...) and backslashes are not allowed."
        )
    return value


# Each validator maps a CSV row (dict) to the clean values, raising FieldInvalid(column) on error.
Cleaner = Callable[[dict[str, str]], dict[str, Any]]


class ColumnInvalid(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _run(column: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except FieldInvalid as exc:
        raise ColumnInvalid(column, str(exc)) from exc


def clean_ssa(row: dict[str, str]) -> dict[str, Any]:
    """A Numident row."""
    citizenship = row["citizenship"].strip().lower()  # "CITIZEN" as some extracts write it
    if citizenship not in NumidentCitizenship.values:
        raise ColumnInvalid("citizenship", f"One of: {', '.join(NumidentCitizenship.values)}.")
    return {
        "ssn": _run("ssn", validation.ssn, row["ssn"]),
        "first_name": _run("first_name", validation.name, row["first_name"]),
        "middle_name": _run("middle_name", validation.name, row["middle_name"], required=False),
        "last_name": _run("last_name", validation.name, row["last_name"]),
        "date_of_birth": _run("date_of_birth", _date, row["date_of_birth"], required=True),
        "citizenship": citizenship,
        "death_date": _run("death_date", _date, row["death_date"], required=False),
        "locked": _run("locked", _bool, row["locked"]),
    }


def clean_dhs(row: dict[str, str]) -> dict[str, Any]:
    """An immigration record row: at least one identifier."""
    out = {
        "a_number": _run("a_number", validation.a_number, row["a_number"])
        if row["a_number"]
        else "",
        "i94": _run("i94", validation.i94, row["i94"]) if row["i94"] else "",
        "passport": _run("passport", validation.passport, row["passport"])
        if row["passport"]
        else "",
        "passport_country": _run("passport_country", _country, row["passport_country"]),
        "first_name": _run("first_name", validation.name, row["first_name"]),
        "last_name": _run("last_name", validation.name, row["last_name"]),
        "date_of_birth": _run("date_of_birth", _date, row["date_of_birth"], required=True),
        "country_of_birth": _run("country_of_birth", _country, row["country_of_birth"]),
        "class_of_admission": _run(
            "class_of_admission", _plain, row["class_of_admission"].strip().upper(), 8
        ),
        "work_authorized_from": _run(
            "work_authorized_from", _date, row["work_authorized_from"], required=False
        ),
        "work_authorized_until": _run(
            "work_authorized_until", _date, row["work_authorized_until"], required=False
        ),
        "naturalized_on": _run("naturalized_on", _date, row["naturalized_on"], required=False),
    }
    if not (out["a_number"] or out["i94"] or out["passport"]):
        raise ColumnInvalid(
            "a_number", "A record needs an A-Number, an I-94 number or a passport number."
        )
    start, end = out["work_authorized_from"], out["work_authorized_until"]
    if start and end and end < start:
        raise ColumnInvalid("work_authorized_until", "Ends before it starts.")
    return out


# A subject's documents, typed by a prefix ("ssn:521-87-4390|a_number:A123456789|X1234567"); an
# untyped number is a document number, as in files written before the prefixes.
DOCUMENT_KINDS: dict[str, Callable[[str], str]] = {
    "ssn": validation.ssn,
    "a_number": validation.a_number,
    "passport": validation.passport,
    "i94": validation.i94,
    "document_number": validation.document_number,
}


def document_of(value: str) -> tuple[str, str]:
    """(kind, number) of one subject document, validated by its kind's rule."""
    kind, sep, number = value.partition(":")
    if not sep or kind not in DOCUMENT_KINDS:
        kind, number = "document_number", value
    return kind, _run("documents", DOCUMENT_KINDS[kind], number.strip())


def clean_enforcement(row: dict[str, str]) -> dict[str, Any]:
    """An enforcement subject row: often partial, so only something that identifies someone is required.

    Enforcement records are a surname and a document, an alias, a year of birth: a subject needs a
    surname, or a document, or an alias; the given name, the date of birth and the rest may be
    empty (matching treats a missing value as no evidence). A row with none of the three
    identifies no one and is refused.
    """
    ref = row["subject_ref"].strip()
    if not ref or len(ref) > 32:
        raise ColumnInvalid("subject_ref", "Required, at most 32 characters.")
    aliases = [a.strip() for a in row["aliases"].split("|") if a.strip()]
    for alias in aliases:
        _run("aliases", validation.name, alias, max_length=160)
    documents = [document_of(d.strip()) for d in row["documents"].split("|") if d.strip()]
    last_name = _run("last_name", validation.name, row["last_name"], required=False)
    if not (last_name or documents or aliases):
        raise ColumnInvalid(
            "last_name", "Nothing identifies this subject: give a surname, a document or an alias."
        )
    status = row["status"].strip()
    if not status or len(status) > 24:
        raise ColumnInvalid("status", "Required, at most 24 characters.")
    return {
        "subject_ref": _run("subject_ref", _plain, ref, 32),
        "first_name": _run("first_name", validation.name, row["first_name"], required=False),
        "last_name": last_name,
        "aliases": aliases,
        "date_of_birth": _run("date_of_birth", _date, row["date_of_birth"], required=False),
        "nationality": _run("nationality", _country, row["nationality"]),
        "documents": documents,
        "status": _run("status", _plain, status, 24),
    }


CLEANERS: dict[str, Cleaner] = {
    ReferenceSource.SSA: clean_ssa,
    ReferenceSource.DHS: clean_dhs,
    ReferenceSource.ENFORCEMENT: clean_enforcement,
}


COPY_COLUMNS: dict[str, list[str]] = {
    ReferenceSource.SSA: [
        "id",
        "load_id",
        "ssn_enc",
        "ssn_bidx",
        "ssn_last4",
        "first_name",
        "middle_name",
        "last_name",
        "date_of_birth",
        "citizenship",
        "death_date",
        "locked",
    ],
    ReferenceSource.DHS: [
        "id",
        "load_id",
        "a_number_enc",
        "a_number_bidx",
        "a_number_last4",
        "i94_enc",
        "i94_bidx",
        "i94_last4",
        "passport_enc",
        "passport_bidx",
        "passport_last4",
        "passport_country",
        "first_name",
        "last_name",
        "date_of_birth",
        "country_of_birth",
        "class_of_admission",
        "work_authorized_from",
        "work_authorized_until",
        "naturalized_on",
    ],
    ReferenceSource.ENFORCEMENT: [
        "id",
        "load_id",
        "subject_ref",
        "first_name",
        "last_name",
        "aliases",
        "date_of_birth",
        "nationality",
        "documents_enc",
        "documents_bidx",
        "documents_kind",
        "status",
    ],
}


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(path: Path, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file whose header must hold the source's columns, once each.

    UTF-8, with or without the byte-order mark spreadsheets write, comma- or semicolon-separated
    (`csv_reader`); header names are trimmed and read whatever their case, and columns beyond the
    source's are ignored. A file that is empty, not UTF-8 or not CSV is refused with the line
    where reading failed; a row of the wrong width is reported as such.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = None
        try:
            reader = csv_reader(fh)
            yield from _header_and_rows(reader, source)
        except UnicodeDecodeError:
            line = first_undecodable_line(path)
            raise ValidationFailed(
                f"Line {line}: not UTF-8 text. Save the file as UTF-8.",
                field_errors={"file": [f"Line {line}: not UTF-8 text."]},
            ) from None
        except csv.Error as exc:
            line = reader.line_num if reader else 1
            raise ValidationFailed(
                f"Line {line}: not valid CSV ({exc}).",
                field_errors={"file": [f"Line {line}: {exc}."]},
            ) from None


def _header_and_rows(reader: Any, source: str) -> Iterator[tuple[int, dict[str, str]]]:
    header = [h.strip().lower() for h in next(reader, None) or []]  # "SSN", " First_Name"
    if not header:
        raise ValidationFailed(
            "The file is empty: line 1 must be the header.",
            field_errors={"file": ["Line 1: no header row."]},
        )
    missing = [c for c in COLUMNS[source] if c not in header]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if missing or twice:
        problems = [f"missing column(s): {', '.join(missing)}"] if missing else []
        problems += [f"column(s) given twice: {', '.join(twice)}"] if twice else []
        raise ValidationFailed(
            f"Line 1 (the header): {'; '.join(problems)}.",
            field_errors={"file": [f"Line 1: {'; '.join(problems)}."]},
        )
    width = len(header)
    for values in reader:
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line
        if len(values) != width:
            yield reader.line_num, {"__shape__": "wrong number of fields"}
            continue
        yield reader.line_num, dict(zip(header, values, strict=True))


def _validated(path: Path, source: str, report: LoadReport) -> Iterator[dict[str, Any]]:
    cleaner = CLEANERS[source]
    for line, row in _rows(path, source):
        report.rows_total += 1
        if "__shape__" in row:
            report.error_count += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(RowError(line, "*", "Wrong number of fields."))
            continue
        try:
            yield cleaner(row)
        except ColumnInvalid as exc:
            report.error_count += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(RowError(line, exc.column, exc.message))


def _allocate(table: str, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [r[0] for r in cursor.fetchall()]


def load_reference(
    *,
    source: str,
    path: Path | str,
    actor: Any = None,
    vintage: date | None = None,
    agency: str = "",
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
    progress_total: Callable[[int], None] | None = None,
) -> LoadReport:
    """Validate a reference file, then COPY it as the source's new current vintage (or refuse it)."""
    if source not in COLUMNS:
        raise ValidationFailed(
            "Unknown source.", field_errors={"source": [f"One of: {', '.join(COLUMNS)}."]}
        )
    path = Path(path)
    started = time.perf_counter()
    report = LoadReport(source=source)
    # Pass 1: validate everything, keep nothing.
    valid = sum(1 for _ in _validated(path, source, report))
    if report.error_count and (not skip_invalid or not valid):
        report.seconds = time.perf_counter() - started
        _refused(report, path=path, actor=actor)
    if not valid:
        # A new vintage replaces the current one: an empty extract would empty the source.
        raise ValidationFailed(
            "The file has a header but no rows: nothing to load, and the current vintage stays.",
            field_errors={"file": ["No rows after the header."]},
        )
    if progress_total:
        progress_total(valid)
    checksum = _checksum(path)
    with transaction.atomic():
        load = ReferenceLoad.objects.create(
            source=source,
            source_agency=agency or DEFAULT_AGENCY[source],
            file_name=path.name[:255],
            vintage=vintage or timezone.localdate(),
            checksum=checksum,
            loaded_by=actor,
            loaded_by_name="" if actor else getpass.getuser(),
            status=LoadStatus.LOADING,
        )
        # Pass 2: seal and copy.
        report.copy_seconds = _copy(path, load=load, rows=valid, progress=progress)
        report.rows_loaded = valid
        activate_load(
            load=load,
            rows=valid,
            rejected=report.error_count,
            seconds=time.perf_counter() - started,
        )
        event_record(
            action="reference.loaded",
            actor=actor,
            object_type="reference_load",
            object_id=load.pk,
            detail={
                "source": source,
                "file": path.name,
                "rows": valid,
                "rejected": report.error_count,
                "checksum": checksum,
            },
        )
    report.load = load
    report.seconds = time.perf_counter() - started
    return report


def _refused(report: LoadReport, *, path: Path, actor: Any) -> NoReturn:
    """Record that a file with bad rows was refused, and refuse it: nothing of it loads."""
    event_record(
        action="reference.load_failed",
        actor=actor,
        object_type="reference_load",
        detail={
            "source": report.source,
            "file": path.name,
            "invalid_rows": report.error_count,
            "rows": report.rows_total,
        },
    )
    raise LoadRefused(report)


def _copy(
    path: Path, *, load: ReferenceLoad, rows: int, progress: Callable[[int], None] | None
) -> float:
    """Re-validate the file and COPY its `rows` good rows into the source's table, each sealed
    under an id taken from the table's sequence beforehand; the seconds the COPY took."""
    source = load.source
    table = MODELS[source]._meta.db_table
    ids = iter(_allocate(table, rows))
    key, ring = crypto.blind_index_key(), crypto.keyring()
    second = LoadReport(source=source)  # pass 2 re-validates; its counts are the same

    def lines() -> Iterator[str]:
        for n, clean in enumerate(_validated(path, source, second), 1):
            yield copy_line(source, clean, row_id=next(ids), load_id=load.pk, key=key, ring=ring)
            if progress and n % 5000 == 0:
                progress(5000)
        if progress:
            progress(rows % 5000)

    started = time.perf_counter()
    copy_rows(table, COPY_COLUMNS[source], lines())
    return time.perf_counter() - started


def activate_load(
    *,
    load: ReferenceLoad,
    rows: int,
    rejected: int = 0,
    seconds: float | None = None,
    analyze: bool = True,
) -> ReferenceLoad:
    """Make `load` its source's current vintage and supersede the previous one (caller's transaction).

    `analyze=False` when the caller has just analyzed the table itself.
    """
    now = timezone.now()
    ReferenceLoad.objects.select_for_update().filter(
        source=load.source, status=LoadStatus.CURRENT
    ).update(status=LoadStatus.SUPERSEDED, superseded_at=now)
    load.row_count = rows
    load.rows_rejected = rejected
    load.status = LoadStatus.CURRENT
    load.became_current_at = now
    load.duration_seconds = seconds
    load.save(
        update_fields=[
            "row_count",
            "rows_rejected",
            "status",
            "became_current_at",
            "duration_seconds",
            "updated_at",
        ]
    )
    if analyze:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {MODELS[load.source]._meta.db_table}")
    return load
