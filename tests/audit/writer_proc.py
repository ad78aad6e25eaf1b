"""A separate OS process that writes audit events (or seals) against the test database.

Run as `python -m tests.audit.writer_proc ROLE N` with DATABASE_URL pointing at the test database.
Writers hold some transactions open for a while after their insert, so ids allocated early
commit late: the sealer must wait for them, never skip them.
"""

from __future__ import annotations

import os
import random
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import transaction

    from audit import chain
    from audit.services import event_record

    role, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(os.getpid())
    if role == "sealer":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(sys.argv[3]):
            chain.seal_pending(batch=50)
            time.sleep(0.01)
        return
    for i in range(count):
        with transaction.atomic():
            event_record(
                action="access.denied", outcome="denied", detail={"writer": os.getpid(), "i": i}
            )
            if rng.random() < 0.1:
                time.sleep(rng.uniform(0.05, 0.3))  # committed late


if __name__ == "__main__":
    main()
