"""Reading an import file (CSV with a header, or JSON lines) into typed rows with line numbers.

The columns are the single submission's fields (the API's names). This module only turns text
into values (dates, the hiring site's id); the rules are the submission's own (`checks`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.errors import ValidationFailed
from core.ids import parse_id

COLUMNS = (
    "first_name",
    "middle_initial",
    "last_name",
    "other_last_names",
    "date_of_birth",
    "ssn",
    "employee_email",
    "citizenship_status",
    "a_number",
    "i94",
    "passport",
    "passport_country",
    "document_type",
    "document_number",
    "document_expires_on",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "hiring_site",
    "employer_case_id",
    "late_reason",
    "late_reason_text",
    "duplicate_reason",
    "duplicate_reason_text",
)
# A row may carry its own idempotency key; without one, the key is a hash of the row.
KEY_COLUMN = "import_key"
ACCEPTED = frozenset((*COLUMNS, KEY_COLUMN))
REQUIRED = (
    "first_name",
    "last_name",
    "date_of_birth",
    "ssn",
    "citizenship_status",
    "document_type",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
)
DATES = frozenset(
    ("date_of_birth", "document_expires_on", "offer_accepted_on", "i9_completed_on", "hire_date")
)
# The messages of the API's parsers (DRF), so a file gets the answers a single submit gets.
DATE_MESSAGE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
INTEGER_MESSAGE = "A valid integer is required."
EMAIL_MESSAGE = "Enter a valid email address."
TEXT_MESSAGE = "Not a valid string."
MAX_TEXT = 500


def sniff_format(head: bytes, name: str) -> str:
    """ "jsonl" or "csv": by the file name, else by the first character."""
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return "jsonl" if head.lstrip()[:1] == b"{" else "csv"


def delimiter_of(header: str) -> str:
    """The CSV's delimiter, read off its header line: a comma, or a semicolon when the header has
    semicolons and no comma (a spreadsheet saved where the comma is the decimal mark)."""
    return ";" if ";" in header and "," not in header else ","


def csv_reader(text: IO[str]) -> Any:
    """`csv.reader` over `text`, with the delimiter its header line uses (`delimiter_of`)."""
    first = text.readline()
    return csv.reader(
        itertools.chain([first] if first else [], text), delimiter=delimiter_of(first)
    )


def first_undecodable_line(path: Path) -> int:
    """The number of the first line of `path` that is not UTF-8 (0 if every line is)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _csv_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    reader = csv_reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip().lstrip("\ufeff").lower() for h in header]  # "SSN", " First_Name"
    unknown = [h for h in header if h not in ACCEPTED]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown[:10])}")
        if len(set(header)) != len(header):
            problems.append("a column appears twice")
        raise ValidationFailed(
            "Line 1 (the header): " + "; ".join(problems) + ".",
            field_errors={"file": [f"Line 1: {'; '.join(problems)}."]},
        )
    width = len(header)
    for values in reader:
        line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line
        if len(values) != width:
            yield line, None, f"Expected {width} fields, found {len(values)}."
            continue
        yield line, dict(zip(header, values, strict=True)), ""


def _jsonl_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    for line, raw in enumerate(text, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):  # nested deeper than the decoder goes: not a row
            yield line, None, "Not valid JSON."
            continue
        if not isinstance(obj, dict):
            yield line, None, "Expected a JSON object."
            continue
        unknown = sorted(k for k in obj if k not in ACCEPTED)
        if unknown:
            yield line, None, f"Unknown field(s): {', '.join(unknown[:10])}."
            continue
        row: dict[str, str] = {}
        bad = ""
        for k, v in obj.items():
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, str | int):
                bad = f"{k}: {TEXT_MESSAGE}"
                break
            row[k] = str(v)
        if bad:
            yield line, None, bad
            continue
        yield line, row, ""


def rows(stream: IO[bytes], file_format: str) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """(line number, raw row or None, shape error) for every row of the file, streamed."""
    text = io.TextIOWrapper(
        stream, encoding="utf-8-sig", newline="" if file_format == "csv" else None
    )
    try:
        yield from (_csv_rows(text) if file_format == "csv" else _jsonl_rows(text))
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The file is not UTF-8 text.", field_errors={"file": ["Save the file as UTF-8."]}
        ) from exc
    except csv.Error as exc:
        raise ValidationFailed(
            "The file is not valid CSV.", field_errors={"file": [f"Not valid CSV: {exc}"]}
        ) from exc
    finally:
        text.detach()


def typed(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The row's values as a submit's input (dates parsed, empty cells absent) and type errors."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key == KEY_COLUMN or value == "":
            continue
        if "\x00" in value:
            errors[key] = ["Control characters are not allowed."]
        elif key in DATES:
            try:
                data[key] = date.fromisoformat(value)
            except ValueError:
                errors[key] = [DATE_MESSAGE]
        elif key == "hiring_site":
            site = parse_id(value.strip())
            if site is None:
                errors[key] = [INTEGER_MESSAGE]
            else:
                data[key] = site
        elif key == "employee_email":
            try:
                validate_email(value)
            except ValidationError:
                errors[key] = [EMAIL_MESSAGE]
            else:
                data[key] = value
        elif len(value) > MAX_TEXT:
            errors[key] = [f"Ensure this field has no more than {MAX_TEXT} characters."]
        else:
            data[key] = value
    for key in REQUIRED:
        if key not in raw and key not in errors:
            errors[key] = ["This field is required."]
    return data, errors
