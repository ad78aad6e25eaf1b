"""`manage.py generate_synthetic --employers N --cases M --seed S [--out DIR]`: synthetic data with labels.

With --out, writes the CSV files (references in load_reference format, employers, cases, labels)
to DIR and leaves the database alone (add --load to do both). Without --out, loads the data into
the database and writes the labels to var/synthetic/seed-S/. Development and test settings only.
See synthetic/__init__.py for the label vocabulary.
"""

from __future__ import annotations

import csv
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.services import event_record
from core.cli import positive_int
from synthetic.generate import build, load_world, write_files, write_subject_labels
from synthetic.rows import employer_row, label_row


class Command(BaseCommand):
    help = "Generate reproducible synthetic employers, references and verification cases with ground-truth labels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employers", type=int, required=True)
        parser.add_argument("--cases", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument(
            "--out", type=Path, default=None, help="write CSV files here instead of loading"
        )
        parser.add_argument(
            "--load", action="store_true", help="with --out: load into the database as well"
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the 'today' of the data (default today)",
        )
        parser.add_argument(
            "--workers", type=positive_int, default=2, help="processes that seal and COPY"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "ALLOW_DEV_TOOLS", False):
            raise CommandError("Synthetic data is for development and test databases only.")
        if options["employers"] < 1 or options["cases"] < 1:
            raise CommandError("--employers and --cases must be at least 1.")
        started = time.perf_counter()
        world = build(
            n_employers=options["employers"],
            n_cases=options["cases"],
            seed=options["seed"],
            as_of=options["as_of"],
        )
        out: Path | None = options["out"]
        if out is not None:
            paths = write_files(world, out)
            self.stdout.write(f"Wrote {', '.join(sorted(p.name for p in paths.values()))} to {out}")
        if out is None or options["load"]:
            bar = tqdm(total=world.n_cases, unit="cases", desc="seal + COPY", mininterval=0.5)
            summary = load_world(
                world, workers=options["workers"], progress=lambda _t, n: bar.update(n)
            )
            bar.close()
            if out is None:
                labels_dir = Path(settings.VAR_DIR) / "synthetic" / f"seed-{options['seed']}"
                labels_dir.mkdir(parents=True, exist_ok=True)
                with (labels_dir / "labels.csv").open("w", newline="") as fh:
                    writer = csv.DictWriter(
                        fh, fieldnames=["employer_case_id", "employer_ein", "label", "detail"]
                    )
                    writer.writeheader()
                    writer.writerows(label_row(world, c) for c in range(world.n_cases))
                with (labels_dir / "employer_labels.csv").open("w", newline="") as fh:
                    plain = csv.writer(fh)
                    plain.writerow(["employer_ein", "label"])
                    for e in range(world.n_employers):
                        row = employer_row(world, e)
                        if row["kind"]:
                            plain.writerow([row["ein"], row["kind"]])
                write_subject_labels(world, labels_dir / "enforcement_labels.csv")
                self.stdout.write(f"Labels: {labels_dir / 'labels.csv'}")
            event_record(
                action="synthetic.generated",
                detail={
                    "seed": options["seed"],
                    "cases": world.n_cases,
                    "employers": world.n_employers,
                },
            )
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"Loaded {summary.total_rows:,} rows ({world.n_cases:,} cases) in {elapsed:.1f}s: "
                f"{summary.total_rows / elapsed:,.0f} rows/s; COPY alone {summary.copy_rows_per_second:,.0f} rows/s per stream."
            )
