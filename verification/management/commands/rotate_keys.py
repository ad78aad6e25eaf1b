"""`manage.py rotate_keys`: re-encrypt identifier tokens under the current data key, in chunks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.cli import positive_int
from privacy import crypto
from verification.rotation import pending, rotate


class Command(BaseCommand):
    help = "Re-encrypt every identifier token still under an old key (the first key of DATA_KEYS is current)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=positive_int, default=2000, help="rows per transaction")
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the rows under old keys"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kid = crypto.keyring().current_kid
        if options["dry_run"]:
            for table, n in pending().items():
                self.stdout.write(f"{table}: {n} row(s) under an old key")
            return
        report = rotate(
            chunk=options["chunk"], progress=lambda table, n: self.stderr.write(f"{table}: +{n}")
        )
        for table, n in report.rows.items():
            self.stdout.write(f"{table}: {n} row(s) re-encrypted under {kid}")
        self.stdout.write(f"Done: {report.total} row(s).")
