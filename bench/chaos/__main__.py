"""`python -m bench.chaos`: the chaos harness from the command line (`make chaos`)."""

from __future__ import annotations

import argparse
import sys

from bench.chaos import faults
from bench.chaos.harness import Config, Harness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000, help="synthetic cases (1M)")
    parser.add_argument("--seed", type=int, default=7, help="data and fault points")
    parser.add_argument(
        "--faults",
        default=",".join(faults.FAULTS),
        help=f"comma-separated, of {','.join(faults.FAULTS)}",
    )
    parser.add_argument(
        "--phases",
        default="run",
        help="run (faults during the cross-reference run), ingest (during the ingest of its "
        "findings into flagged cases), import (during two bulk imports of --scale rows in all, "
        "one all or nothing, one good rows only), or several: run,ingest,import",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="URL of an existing server to use instead of a private cluster (never stopped: "
        "the postgres fault is then skipped)",
    )
    parser.add_argument("--database", default="", help="database name (default chaos_<scale>)")
    parser.add_argument(
        "--down", type=float, default=5.0, help="seconds a stopped server stays down"
    )
    parser.add_argument(
        "--lease",
        type=int,
        default=0,
        help="fault rounds' lease, s (default 3x the longest partition)",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=0,
        help="rows the import phase imports (default: --scale)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    cfg = Config(
        scale=args.scale,
        seed=args.seed,
        faults=[f for f in args.faults.split(",") if f],
        phases=[p for p in args.phases.split(",") if p],
        postgres=args.postgres.rstrip("/"),
        database=args.database,
        down_seconds=args.down,
        lease=args.lease,
        keep=args.keep,
        import_rows=args.import_rows,
    )
    for phase in cfg.phases:
        if phase not in ("run", "ingest", "import"):
            parser.error(f"unknown phase {phase!r}")
    print(
        f"chaos: {cfg.scale:,} cases, seed {cfg.seed}, faults {','.join(cfg.faults)}, phases {','.join(cfg.phases)}"
    )
    print("(this machine is shared and noisy: times are indicative, equality is what counts)")
    with Harness(cfg) as harness:
        _reference, results = harness.run_all()
    print("-- summary")
    for result in results:
        print(result.line())
    bad = [r for r in results if not r.skipped and not r.equal]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
