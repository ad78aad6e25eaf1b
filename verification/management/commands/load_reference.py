"""`manage.py load_reference --source {ssa,dhs,enforcement} FILE.csv`: COPY a reference extract."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ValidationFailed
from verification.loading import COLUMNS, LoadRefused, load_reference


class Command(BaseCommand):
    help = "Validate a reference CSV, then COPY it as the source's new current vintage (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, choices=list(COLUMNS))
        parser.add_argument(
            "--vintage", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)"
        )
        parser.add_argument(
            "--agency", default="", help="code of the sending agency (default per source)"
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="load the good rows, report the rest"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        bar = tqdm(
            total=0,
            unit="rows",
            desc=f"{options['source']} copy",
            disable=options["no_progress"],
            mininterval=0.5,
        )

        def total(n: int) -> None:
            bar.reset(total=n)

        try:
            report = load_reference(
                source=options["source"],
                path=path,
                vintage=options["vintage"],
                agency=options["agency"],
                skip_invalid=options["skip_invalid"],
                progress=bar.update,
                progress_total=total,
            )
        except LoadRefused as refused:
            bar.close()
            self._errors(refused.report)
            raise CommandError(
                f"{refused.report.error_count} invalid row(s) of {refused.report.rows_total}; nothing was loaded."
            ) from None
        except ValidationFailed as exc:
            bar.close()
            for name, messages in (exc.field_errors or {}).items():
                for message in messages:
                    self.stderr.write(f"{name}: {message}")
            raise CommandError(exc.message) from None
        bar.close()
        if report.error_count:
            self._errors(report)
        self.stdout.write(
            f"Loaded {report.rows_loaded} rows of {report.rows_total} ({report.error_count} skipped) as load "
            f"{report.load.pk if report.load else '-'} in {report.seconds:.1f}s: "
            f"{report.rows_per_second:,.0f} rows/s ({report.rows_loaded / report.copy_seconds if report.copy_seconds else 0:,.0f} rows/s during COPY)."
        )

    def _errors(self, report: Any) -> None:
        for error in report.errors:
            self.stderr.write(str(error))
        if report.error_count > len(report.errors):
            self.stderr.write(f"... and {report.error_count - len(report.errors)} more.")
