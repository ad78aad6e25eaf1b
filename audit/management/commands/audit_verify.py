"""`manage.py audit_verify`: verify the audit hash chain and report the first bad event."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services_admin import chain_verify
from core.cli import positive_int


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (whole or a seq range) against itself and the signed checkpoints."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--from-seq", type=positive_int, default=None, help="first seq to check"
        )
        parser.add_argument("--to-seq", type=positive_int, default=None, help="last seq to check")
        parser.add_argument(
            "--thorough",
            action="store_true",
            help="recompute every serialization in Python too, trusting no database function",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument(
            "--trigger", default="command", help="why it runs, kept on the verification record"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = options["from_seq"], options["to_seq"]
        if first is not None and last is not None and last < first:
            raise CommandError(f"--to-seq {last} comes before --from-seq {first}.")
        run = chain_verify(
            actor=None,
            trigger=options["trigger"],
            from_seq=options["from_seq"],
            to_seq=options["to_seq"],
            thorough=options["thorough"],
        )
        elapsed = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
        summary = {
            "ok": run.ok,
            "checked": run.checked,
            "from_seq": run.from_seq,
            "to_seq": run.to_seq,
            "first_bad_seq": run.first_bad_seq,
            "first_bad_event_id": run.first_bad_event_id,
            "problem": run.problem,
            "checkpoints_checked": run.checkpoints_checked,
            "unsealed": run.unsealed,
            "seconds": round(elapsed, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        elif run.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit chain intact: {run.checked} events (seq {run.from_seq}..{run.to_seq}), "
                    f"{run.checkpoints_checked} signed checkpoints matched, {run.unsealed} not sealed yet, "
                    f"{elapsed:.2f}s."
                )
            )
        if not run.ok:
            raise CommandError(
                f"Audit chain broken at seq {run.first_bad_seq} (event {run.first_bad_event_id}): {run.problem}"
            )
