"""The generator's entry points: build a world, write its files, load it (see the package docstring)."""

from __future__ import annotations

from datetime import date
from typing import Any

from synthetic.load import LoadSummary, load_world, write_files
from synthetic.rows import label_row
from synthetic.world import DETAILS, LABELS, World, build


def labels_for(world: World) -> dict[str, tuple[str, str]]:
    """employer_case_id -> (label, detail) of every case of the world."""
    out = {}
    for c in range(world.n_cases):
        row = label_row(world, c)
        out[row["employer_case_id"]] = (row["label"], row["detail"])
    return out


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
    "write_files",
]
