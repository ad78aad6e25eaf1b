"""Management commands given a bad number answer with a usage error naming the option.

Each of these once ended in a traceback (`--workers 0`: ZeroDivisionError; `--batch -3`:
ValueError) or in a loop that could not advance (`--batch 0`, `--chunk 0`: "0 rows done" with
rows left).
"""

from __future__ import annotations

import argparse
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.cli import positive_float, positive_int

pytestmark = pytest.mark.django_db

BAD = [
    ("cases_ingest", ["--batch", "0"], "argument --batch: must be at least 1, not 0"),
    ("cases_ingest", ["--batch", "-3"], "argument --batch: must be at least 1, not -3"),
    ("rotate_keys", ["--chunk", "0"], "argument --chunk: must be at least 1"),
    ("rotate_keys", ["--chunk", "many"], "argument --chunk: not a whole number: 'many'"),
    (
        "generate_synthetic",
        ["--employers", "2", "--cases", "5", "--seed", "1", "--workers", "0"],
        "argument --workers: must be at least 1",
    ),
    ("demo_world", ["--workers", "0"], "argument --workers: must be at least 1"),
    (
        "import_cases",
        ["x.csv", "--employer", "1", "--timeout", "-1"],
        "argument --timeout: must be a finite number above 0",
    ),
    (
        "import_cases",
        ["x.csv", "--employer", "1", "--timeout", "nan"],
        "argument --timeout: must be a finite number above 0",
    ),
    ("audit_verify", ["--from-seq", "0"], "argument --from-seq: must be at least 1"),
    (
        "audit_verify",
        ["--from-seq", "10", "--to-seq", "5"],
        "--to-seq 5 comes before --from-seq 10",
    ),
]


@pytest.mark.parametrize(("command", "args", "said"), BAD)
def test_a_bad_number_is_a_usage_error_naming_the_option(command, args, said):
    with pytest.raises(CommandError) as exc:
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
    assert said in str(exc.value)


def test_the_argument_types_accept_what_they_name():
    assert positive_int("1") == 1
    assert positive_int(" 12 ") == 12
    assert positive_float("0.5") == 0.5
    for bad in ("0", "-1", "1.5", "", "1e3"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_int(bad)
    for bad in ("0", "-0.1", "inf", "nan", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_float(bad)
