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
