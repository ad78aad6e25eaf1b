"""The generator's entry points: build a world, write its files, load it (see the package docstring)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from synthetic import load
from synthetic.load import LoadSummary, load_world
from synthetic.rows import SUBJECT_LABEL_COLUMNS, label_row, subject_label_row
from synthetic.world import DETAILS, LABELS, World, build


def labels_for(world: World) -> dict[str, tuple[str, str]]:
    """employer_case_id -> (label, detail) of every case of the world."""
    out = {}
    for c in range(world.n_cases):
        row = label_row(world, c)
        out[row["employer_case_id"]] = (row["label"], row["detail"])
    return out


def subject_labels_for(world: World) -> dict[str, dict[str, str]]:
    """subject_ref -> the ground truth of every enforcement subject (rows.SUBJECT_LABEL_COLUMNS)."""
    out = {}
    for k in range(len(world.s["kind"])):
        row = subject_label_row(world, k)
        out[row["subject_ref"]] = row
    return out


def write_subject_labels(world: World, path: Path) -> Path:
    """enforcement_labels.csv: one row per subject (link, decoy or stranger, its variant and document)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUBJECT_LABEL_COLUMNS)
        writer.writeheader()
        writer.writerows(subject_label_row(world, k) for k in range(len(world.s["kind"])))
    return path


def write_files(world: World, out: Path) -> dict[str, Path]:
    """The files of `load.write_files`, and enforcement_labels.csv."""
    paths = load.write_files(world, out)
    paths["enforcement_labels.csv"] = write_subject_labels(world, out / "enforcement_labels.csv")
    return paths


def generate_and_load(
    *,
    cases: int,
    employers: int | None = None,
    seed: int = 1,
    as_of: date | None = None,
    workers: int = 2,
    actor: Any = None,
) -> tuple[World, LoadSummary]:
    """Generate a world of `cases` cases and load it into the current database."""
    world = build(
        n_employers=employers or max(10, cases // 50), n_cases=cases, seed=seed, as_of=as_of
    )
    return world, load_world(world, workers=workers, actor=actor)


__all__ = [
    "DETAILS",
    "LABELS",
    "LoadSummary",
    "World",
    "build",
    "generate_and_load",
    "labels_for",
    "load_world",
    "subject_labels_for",
    "write_files",
    "write_subject_labels",
]
