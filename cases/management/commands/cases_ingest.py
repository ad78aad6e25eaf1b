"""Pull pending findings into flagged cases now (beat does it every 30 s)."""

from django.core.management.base import BaseCommand

from cases.services import findings_ingest_all
from core.cli import positive_int


class Command(BaseCommand):
    help = "Turn every pending finding into flagged cases (or new evidence on open ones)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", type=positive_int, default=500, help="findings per transaction"
        )

    def handle(self, *args, batch: int, **options):
        total = findings_ingest_all(batch=batch)
        self.stdout.write(self.style.SUCCESS(f"Ingested {total} finding(s)."))
