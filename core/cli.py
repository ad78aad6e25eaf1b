"""Argument types for management commands: a bad number is a usage error that names the option.

argparse turns an `ArgumentTypeError` into "argument --batch: must be at least 1, not 0" and a
non-zero exit (a CommandError under `call_command`), instead of a traceback from deep inside the
command, or a loop that never advances (a batch of 0 rows).
"""

from __future__ import annotations

import argparse


def positive_int(value: str) -> int:
    """A whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def positive_float(value: str) -> float:
    """A number above 0."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {value}")
    return number
