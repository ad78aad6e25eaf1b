"""`manage.py audit_checkpoint`: seal and sign the chain head now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.services_admin import checkpoint_record


class Command(BaseCommand):
    help = "Seal committed events and append a signed checkpoint of the chain head to AUDIT_CHECKPOINT_PATH."

    def handle(self, *args: Any, **options: Any) -> None:
        cp = checkpoint_record()
        if cp is None:
            self.stdout.write("The chain is empty; nothing to sign.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Signed seq {cp.seq} hash {cp.hash[:16]}… at {cp.signed_at}")
            )
