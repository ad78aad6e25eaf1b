"""`manage.py restore FILE --database-url URL`: restore a backup into a new database, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, restore_into


class Command(BaseCommand):
    help = (
        "Restore a dump of `manage.py backup` into a new, empty database with pg_restore, then "
        "verify its audit chain against the checkpoints kept outside the database."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the dump (FILE.manifest.json beside it)")
        parser.add_argument(
            "--database-url", required=True, help="the new database (created if missing)"
        )
        parser.add_argument(
            "--checkpoints",
            default=None,
            help="a new checkpoint file for the restored database (default: the configured one, "
            "for a restore that replaces the database; give one for a copy beside a live system)",
        )
        parser.add_argument(
            "--no-owner",
            action="store_true",
            help="restore without owners and grants (the target's roles differ from the source's)",
        )
        parser.add_argument(
            "--no-manifest",
            action="store_true",
            help="restore a plain pg_dump file with no signed manifest (the chain is still verified)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = restore_into(
                dump=Path(options["file"]).resolve(),
                url=options["database_url"],
                checkpoints_file=Path(options["checkpoints"]).resolve()
                if options["checkpoints"]
                else None,
                no_owner=options["no_owner"],
                no_manifest=options["no_manifest"],
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored into {report.database}"
                + (" (created)" if report.created else "")
                + f": audit chain intact, {report.checked} events, "
                f"{report.checkpoints_checked} signed checkpoints matched"
                + (f", restore record at seq {report.head_seq}" if report.head_seq else "")
                + "."
            )
        )
