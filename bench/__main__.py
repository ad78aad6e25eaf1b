"""Entry point of `make bench`."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import shutil
import sys
import time
import traceback

from bench import report

AREAS = ["data", "crossref", "audit", "queue", "linkage", "import"]


def require_free_disk(path: str, gib: float) -> None:
    """Stop before a benchmark fills the disk."""
    free = shutil.disk_usage(path).free / 2**30
    if free < gib:
        sys.exit(f"bench: needs {gib:.0f} GiB free under {path}, only {free:.1f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description="Crosscheck benchmarks")
    parser.add_argument("--area", default="all", help=f"one of {AREAS} or all")
    parser.add_argument(
        "--scale", type=int, default=None, help="rows (cases) to generate for the area"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="the held-out seed to repeat (areas that draw one)"
    )
    parser.add_argument(
        "--full", action="store_true", help="every size the area knows (areas that have several)"
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    areas = AREAS if args.area == "all" else [args.area]
    failed: list[str] = []
    for area in areas:
        try:
            module = importlib.import_module(f"bench.{area}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{area}":
                print(f"== {area}: not built yet")
                continue
            raise
        print(f"== {area}")
        report.REPORT.areas.append(area)
        started = time.perf_counter()
        # --seed and --full go to the areas whose run() takes them; the others ignore them.
        accepted = inspect.signature(module.run).parameters
        given = {"seed": args.seed, "full": args.full or None}
        extra = {k: v for k, v in given.items() if v is not None and k in accepted}
        try:
            module.run(args.scale, **extra)
        except Exception as exc:
            # What the other areas measured is still worth its report; the run still fails.
            report.note(f"area {area} failed: {type(exc).__name__}: {exc}")
            failed.append(area)
            traceback.print_exc()
        print(f"== {area} finished in {time.perf_counter() - started:.1f}s")
    report.write(sys.argv)
    if failed:
        sys.exit(f"bench: {', '.join(failed)} failed (see above)")


if __name__ == "__main__":
    main()
