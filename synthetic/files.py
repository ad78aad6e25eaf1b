"""A synthetic world as CSV files: employers, sites, the three reference extracts, cases, labels.

The reference files are in the format of `manage.py load_reference` (verification.loading), so a
world written here loads through the product's own loader too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from synthetic import columns as cols
from synthetic import rows as srows
from synthetic.world import World
from verification.loading import COLUMNS
from verification.models import ReferenceSource

CHUNK = 50_000  # people per column build


def write_files(w: World, out: Path) -> dict[str, Path]:
    """Employers, sites, the three reference files (load_reference format), cases and labels."""
    out.mkdir(parents=True, exist_ok=True)
    employers = ["ein", "name", "naics", "state", "mou_signed_on", "is_federal_contractor"]
    return {
        "employers.csv": _write_dicts(
            out / "employers.csv",
            employers,
            (srows.employer_row(w, e) for e in range(w.n_employers)),
        ),
        "sites.csv": _write_dicts(
            out / "sites.csv", ["employer_ein", "name", "city", "state"], _site_rows(w)
        ),
        "ssa.csv": _write_lists(out / "ssa.csv", COLUMNS[ReferenceSource.SSA], _numident_rows(w)),
        "dhs.csv": _write_dicts(out / "dhs.csv", COLUMNS[ReferenceSource.DHS], _dhs_rows(w)),
        "enforcement.csv": _write_dicts(
            out / "enforcement.csv",
            COLUMNS[ReferenceSource.ENFORCEMENT],
            (srows.enforcement_row(w, k) for k in range(len(w.s["person"]))),
        ),
        "cases.csv": _write_lists(
            out / "cases.csv",
            [*cols.CASE_FIELDS[:-2], "employer_ein", "hiring_site"],
            _case_rows(w),
        ),
        "labels.csv": _write_dicts(
            out / "labels.csv",
            ["employer_case_id", "employer_ein", "label", "detail"],
            (srows.label_row(w, c) for c in range(w.n_cases)),
        ),
        "employer_labels.csv": _write_dicts(
            out / "employer_labels.csv", ["employer_ein", "label"], _employer_label_rows(w)
        ),
    }


def _write_dicts(path: Path, columns: list[str], items: Iterable[dict[str, Any]]) -> Path:
    """A CSV file of `columns` from dicts (other keys ignored, None written empty)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for item in items:
            writer.writerow({k: ("" if v is None else v) for k, v in item.items()})
    return path


def _write_lists(path: Path, columns: list[str], items: Iterable[list[str]]) -> Path:
    """A CSV file of `columns` from lists already in column order."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(items)
    return path


def _site_rows(w: World) -> Iterator[dict[str, Any]]:
    for e in range(w.n_employers):
        for k in range(int(w.e_sites[e])):
            yield {**srows.site_row(w, e, k), "employer_ein": f"{int(w.e_ein[e]):09d}"}


def _numident_rows(w: World) -> Iterator[list[str]]:
    for lo in range(0, w.n_people, CHUNK):
        ppl = cols.people(w, lo, min(w.n_people, lo + CHUNK))
        for j in range(len(ppl.ssn)):
            yield [
                ppl.ssn[j],
                ppl.first[j],
                ppl.middle[j],
                ppl.last[j],
                ppl.dob[j],
                ppl.citizenship[j],
                ppl.death[j],
                "true" if ppl.locked[j] else "false",
            ]


def _dhs_rows(w: World) -> Iterator[dict[str, Any]]:
    for lo in range(0, w.n_people, CHUNK):
        ppl = cols.people(w, lo, min(w.n_people, lo + CHUNK))
        for j in ppl.dhs:
            yield cols.dhs_dict(ppl, j)


def _case_rows(w: World) -> Iterator[list[str]]:
    """The I-9 fields as typed, then the employer's EIN and the hiring site's name."""
    cache: dict[int, Any] = {}
    ein, base = w.el["ein"], w.el["site_base"]
    for c in range(w.n_cases):
        values = cols.case_values(w, c, cache)
        e, site = w.cl["employer"][c], w.cl["site"][c]
        yield [
            *values[: len(cols.CASE_FIELDS) - 2],
            f"{ein[e]:09d}",
            f"Site {site - base[e] + 1}" if site >= 0 else "",
        ]
        if len(cache) > 100_000:
            cache.clear()


def _employer_label_rows(w: World) -> Iterator[dict[str, Any]]:
    """The misbehaving employers and their kind."""
    for e in range(w.n_employers):
        if w.e_kind[e] >= 0:
            yield {
                "employer_ein": f"{int(w.e_ein[e]):09d}",
                "label": srows.employer_row(w, e)["kind"],
            }
