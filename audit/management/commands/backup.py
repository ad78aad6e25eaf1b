"""`manage.py backup FILE`: dump the database (pg_dump, custom format) with a signed manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, backup_take, manifest_path


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head, dump the database with pg_dump (custom format) to FILE, "
        "and write FILE.manifest.json (sha256, versions, the signed head), signed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="where the dump goes (its manifest goes beside it)")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        path = Path(file).resolve()
        if path.exists():
            raise CommandError(f"{path} exists: a backup never overwrites another.")
        try:
            manifest = backup_take(path=path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        head = manifest["checkpoint"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {manifest['database']} ({manifest['server_version']}) with "
                f"{manifest['pg_dump']} to {path}: {manifest['bytes']:,} bytes, sha256 "
                f"{manifest['sha256'][:16]}…, audit chain head "
                + (f"seq {head['seq']} signed" if head else "empty")
                + f". Manifest: {manifest_path(path)}"
            )
        )
