"""The chaos harness's data, in a process of its own: `python -m bench.chaos.prepare N SEED`.

Migrates the harness's database (DATABASE_URL), loads the demo directory (agencies, units, the
demo users and their matching agreements: adam runs the matching, as `demo_world` does), the
synthetic world of N cases through the generator's COPY loader, and the routing rules that send
identity leads to Worksite A and employer leads to Worksite B.
"""

from __future__ import annotations

import sys
import time


def main(cases: int, seed: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cases.models import RoutingRule
    from privacy.demo import demo_directory_load
    from privacy.models import Unit
    from synthetic.generate import generate_and_load

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    demo_directory_load()
    _world, summary = generate_and_load(
        cases=cases, employers=max(10, cases // 50), seed=seed, workers=2
    )
    units = {u.code: u for u in Unit.objects.filter(agency__code="ice-hsi")}
    if not RoutingRule.objects.exists():
        RoutingRule.objects.create(rule_family="", state="", unit=units["worksite-a"])
        RoutingRule.objects.create(rule_family="employer", state="", unit=units["worksite-b"])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(
        f"data: {cases:,} synthetic cases (seed {seed}), {summary.total_rows:,} rows loaded in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
