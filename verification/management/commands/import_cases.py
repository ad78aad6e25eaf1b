"""`manage.py import_cases FILE --employer ID`: bulk-import verification cases (CSV or JSON lines).

The same path as the portal's upload and `POST /api/v1/cases/batch`: the file is staged as an
import job, every row is checked by the single submission's rules, and the job runs on a Celery
worker (`--inline` runs it in this process). The bar follows the job; bad rows are reported by
line, field and message, and the exit status is non-zero when any row was refused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.cli import positive_float
from core.errors import ValidationFailed
from privacy.models import User
from verification.imports.jobs import import_run
from verification.imports.staging import import_stage
from verification.models import Employer, ImportJob, ImportMode, ImportRowError, ImportStatus
from verification.tasks import enqueue_import


class Command(BaseCommand):
    help = "Import verification cases from a CSV or JSON-lines file for one employer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument("--employer", type=int, help="the employer's id")
        parser.add_argument(
            "--good-rows-only",
            action="store_true",
            help="import the good rows and report the bad ones (default: all or nothing)",
        )
        parser.add_argument("--user", default="", help="the username the import is made as")
        parser.add_argument("--inline", action="store_true", help="run here, not on a worker")
        parser.add_argument("--no-wait", action="store_true", help="queue the job and return")
        parser.add_argument("--resume", type=int, help="resume an unfinished job by its id")
        parser.add_argument(
            "--timeout", type=positive_float, default=3600.0, help="seconds to wait"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No import job {options['resume']}.")
        else:
            job = self._stage(options)
            self.stdout.write(
                f"Import {job.pk}: {job.rows_total} rows staged from {job.file_name}."
            )
        if options["no_wait"] and not options["inline"]:
            enqueue_import(job.pk)
            self.stdout.write(
                f"Queued; follow it with `manage.py import_cases --resume {job.pk} --inline`."
            )
            return
        job = self._follow(job, options)
        self._report(job)

    def _stage(self, options: dict[str, Any]) -> ImportJob:
        path: Path | None = options["file"]
        if path is None or not path.is_file():
            raise CommandError(f"No such file: {path}")
        employer = Employer.objects.filter(pk=options["employer"] or 0).first()
        if employer is None:
            raise CommandError("Give an enrolled employer's id with --employer.")
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['user']!r}.")
        try:
            with path.open("rb") as fh:
                return import_stage(
                    actor=actor,
                    employer=employer,
                    stream=fh,
                    file_name=path.name,
                    mode=ImportMode.GOOD_ROWS
                    if options["good_rows_only"]
                    else ImportMode.ALL_OR_NOTHING,
                    channel="command",
                )
        except ValidationFailed as exc:
            details = "; ".join(m for ms in (exc.field_errors or {}).values() for m in ms)
            raise CommandError(f"{exc.message} {details}".strip()) from None

    def _follow(self, job: ImportJob, options: dict[str, Any]) -> ImportJob:
        bar = tqdm(
            total=job.rows_total * 2, unit="rows", disable=options["no_progress"], mininterval=0.5
        )

        def show(j: ImportJob) -> None:
            bar.set_description(j.get_status_display())
            bar.n = j.rows_validated + j.rows_processed
            bar.refresh()

        try:
            if options["inline"]:
                job = import_run(job_id=job.pk, progress=show)
            else:
                enqueue_import(job.pk)
                deadline = time.monotonic() + options["timeout"]
                while not job.is_finished and job.status != ImportStatus.AWAITING_CHOICE:
                    if time.monotonic() > deadline:
                        raise CommandError(
                            f"Import {job.pk} is still {job.status} after {options['timeout']:.0f}s; "
                            "it goes on (is a worker consuming the 'batch' queue?)."
                        )
                    time.sleep(0.5)
                    job.refresh_from_db()
                    show(job)
            show(job)
        finally:
            bar.close()
        return job

    def _report(self, job: ImportJob) -> None:
        for error in ImportRowError.objects.filter(job=job).order_by("line", "id").iterator():
            self.stderr.write(f"line {error.line}: {error.field}: {error.message}")
        kept = ImportRowError.objects.filter(job=job).values("line").distinct().count()
        if job.rows_invalid > kept:
            self.stderr.write(f"... and more: {job.rows_invalid} bad rows in all.")
        by_status = ", ".join(f"{k}: {v}" for k, v in sorted(job.results.items()))
        summary = (
            f"Import {job.pk} {job.get_status_display().lower()}: {job.rows_imported} cases created"
            f" ({by_status or 'none'}), {job.rows_already} already imported, {job.rows_invalid} bad rows."
        )
        if job.status == ImportStatus.REFUSED:
            raise CommandError(f"{summary} Nothing was imported.")
        if job.status != ImportStatus.DONE or job.rows_invalid:
            raise CommandError(summary)
        self.stdout.write(summary)
