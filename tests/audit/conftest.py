"""Audit test helpers: checkpoints go to a temporary file; a cursor for raw SQL."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _checkpoints_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    settings.AUDIT_CHECKPOINT_KEY_FILE = str(tmp_path / "checkpoint-key.pem")
    settings.AUDIT_CHECKPOINT_PUBLIC_KEY_FILE = ""
    settings.AUDIT_CHECKPOINT_KEY_CREATE = True


def sql(statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run raw SQL on the default connection; rows if it returns any."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def seal_all(timeout: float = 20.0) -> int:
    """Seal until nothing committed is left, as beat's repeated runs would.

    One run may stop short when another database's transaction ends at the very moment the
    sealer looks (it then counts it as possibly ours and waits for the next run).
    """
    import time

    from audit import chain

    total = 0
    deadline = time.monotonic() + timeout
    while True:
        total += chain.seal_pending()
        if chain.unsealed_count() == 0 or time.monotonic() > deadline:
            return total
        time.sleep(0.05)
