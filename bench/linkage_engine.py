"""The linkage benchmark's product side: data in through the real paths, ENF-LINK run by the real engine.

Imported by bench/linkage.py only once Django is set up on the bench's own database (its models
are imported at the top, as everywhere else). The database, the Celery workers, the run's owner
and the generator's labels are bench/crossref.py's (`_setup_django`, `_workers`, `_bench_user`,
`_load_data`), so that P2 and this benchmark measure the engine the same way.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from bench import crossref as p2
from bench import linkage_febrl as febrl
from crossref import sources
from crossref.linkage.model import DEFAULT
from crossref.linkage.store import parameters_of
from crossref.linkage.subjects import forget, subject_index
from crossref.models import Finding, LinkageModel, Partition, RunStatus
from crossref.rules import enforcement
from privacy import crypto
from verification.identifiers import KINDS
from verification.loading import COLUMNS, load_reference
from verification.matching import normalize_name
from verification.services import apikey_issue, employer_enrol

RULE = "ENF-LINK"
CASES_URL = "/api/v1/cases/"
_SUBJECT_IDS = 10**15  # Splink row ids of subject names start here, above any case id


# --- The configured thresholds ------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """ENF-LINK's configured lead and review thresholds, and the settings they come from."""

    lead: float
    review: float
    source: str


def configured_thresholds() -> Thresholds:
    """The lead/review thresholds of settings.CROSSREF: match probabilities if configured, else the similarity settings."""
    conf = settings.CROSSREF
    if "LINKAGE_LEAD_PROBABILITY" in conf:
        lead = float(conf["LINKAGE_LEAD_PROBABILITY"])
        review = float(conf.get("LINKAGE_REVIEW_PROBABILITY", lead))
        return Thresholds(lead, review, "LINKAGE_LEAD_PROBABILITY / LINKAGE_REVIEW_PROBABILITY")
    lead = float(conf["LINKAGE_THRESHOLD"])
    review = lead - float(conf.get("LINKAGE_REVIEW_MARGIN", 0.0))
    return Thresholds(lead, review, "LINKAGE_THRESHOLD / - LINKAGE_REVIEW_MARGIN")


# --- FEBRL3 in through the loader and the API ---------------------------------------------------
@dataclass
class FebrlLoad:
    """What the product accepted of FEBRL3, and the true links among it."""

    truth: set[tuple[int, str]] = field(default_factory=set)  # (case id, subject ref)
    all_pairs: int = 0  # true links of the whole file, refused records included
    subjects: int = 0
    subjects_loaded: int = 0
    subject_refusals: Counter[str] = field(default_factory=Counter)
    cases: int = 0
    cases_accepted: int = 0
    case_refusals: Counter[str] = field(default_factory=Counter)
    resubmitted_as_duplicates: int = 0
    pairs_lost_to_refusals: int = 0
    seconds: float = 0.0


def load_febrl(records: list[dict[str, Any]], *, actor: Any, work: Path) -> FebrlLoad:
    """Originals through `load_reference` (skip_invalid: refused rows counted), duplicates through POST /api/v1/cases/."""
    started = time.perf_counter()
    on = timezone.localdate()
    out = FebrlLoad()
    assert COLUMNS["enforcement"] == febrl.ENFORCEMENT_COLUMNS, "the loader's columns changed"
    originals = [r for r in records if febrl.is_original(r["rec_id"])]
    duplicates = [r for r in records if not febrl.is_original(r["rec_id"])]
    path = work / "febrl-subjects.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=febrl.ENFORCEMENT_COLUMNS)
        writer.writeheader()
        writer.writerows(febrl.subject_row(r) for r in originals)
    report = load_reference(
        source="enforcement", path=path, actor=actor, skip_invalid=True, vintage=on
    )
    out.subjects, out.subjects_loaded = len(originals), report.rows_loaded
    refused_lines = {e.line for e in report.errors}
    for e in report.errors:
        out.subject_refusals[f"{e.column}: {e.message}"] += 1
    loaded = {r["rec_id"] for i, r in enumerate(originals, 2) if i not in refused_lines}
    case_of = _submit(duplicates, out, on=on)
    pairs = febrl.truth_pairs([r["rec_id"] for r in records])
    out.all_pairs = len(pairs)
    out.truth = {(case_of[d], o) for d, o in pairs if d in case_of and o in loaded}
    out.pairs_lost_to_refusals = out.all_pairs - len(out.truth)
    out.seconds = time.perf_counter() - started
    return out


def _submit(duplicates: list[dict[str, Any]], out: FebrlLoad, *, on: date) -> dict[str, int]:
    """POST each duplicate as a case; rec id -> case id of the accepted ones.

    One employer per duplicate index k, so that two duplicates of one person (often the same SSN)
    are not the same employer's duplicate case within 365 days; when that still happens, the case is
    sent again with the coded reason an employer would give ("incorrect data"), and counted.
    """
    keys: dict[int, str] = {}
    for k in sorted({febrl.duplicate_index(r["rec_id"]) for r in duplicates}):
        employer = employer_enrol(
            actor=None,
            ein=f"46-{1_000_000 + k:07d}",
            name=f"FEBRL3 employer {k}",
            naics="541511",
            state="TX",
            mou_signed_on=date(2024, 1, 1),
        )
        # A bulk-submitting system's key: the default 600 a minute would refuse most of the file.
        keys[k] = apikey_issue(
            actor=None, employer=employer, label="linkage bench", rate_per_minute=100_000
        )[1]
    client = APIClient()
    case_of: dict[str, int] = {}
    with _quiet_refusals():
        for record in duplicates:
            _submit_one(client, record, keys, case_of, out, on=on)
    return case_of


@contextmanager
def _quiet_refusals() -> Iterator[None]:
    """Refusals are counted, not logged one by one (Django logs each 400 as a warning); no static files here."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No directory at")
            yield
    finally:
        logger.setLevel(level)


def _submit_one(
    client: APIClient,
    record: dict[str, Any],
    keys: dict[int, str],
    case_of: dict[str, int],
    out: FebrlLoad,
    *,
    on: date,
) -> None:
    """POST one duplicate (again with a duplicate reason if that is all that stops it); count the outcome."""
    rec_id = record["rec_id"]
    body = febrl.case_body(record, on=on)
    auth = {"Authorization": f"Bearer {keys[febrl.duplicate_index(rec_id)]}"}
    response = client.post(
        CASES_URL, body, format="json", headers={**auth, "Idempotency-Key": rec_id}
    )
    fields = response.json().get("error", {}).get("fields", {})
    if response.status_code == 400 and set(fields) == {"duplicate_reason"}:
        out.resubmitted_as_duplicates += 1
        response = client.post(
            CASES_URL,
            {**body, "duplicate_reason": "incorrect_data"},
            format="json",
            headers={**auth, "Idempotency-Key": f"{rec_id}/again"},
        )
        fields = response.json().get("error", {}).get("fields", {})
    out.cases += 1
    if response.status_code == 201:
        case_of[rec_id] = int(response.json()["id"])
        out.cases_accepted += 1
    else:
        out.case_refusals[febrl.refusal_reason(fields) or f"HTTP {response.status_code}"] += 1


# --- Our run ------------------------------------------------------------------------------------
def training_seconds(user: Any) -> float | None:
    """Time `manage.py crossref train-linkage` if this version has it (the trained model of issue 17); else None."""
    command = get_commands().get("crossref")
    if command is None:
        return None
    parser = load_command_class(command, "crossref").create_parser("manage.py", "crossref")
    actions = [a for a in parser._actions if getattr(a, "choices", None)]
    if not any("train-linkage" in (a.choices or {}) for a in actions):
        return None
    return _cold(
        lambda: call_command(
            "crossref", "train-linkage", "--user", user.username, stdout=io.StringIO()
        )
    )


def _cold(work: Callable[[], object]) -> float:
    """The wall time of `work` in a child forked from this process, and its failure raised here.

    This process keeps what it has warmed (the name caches, the word ids) from one repeat to the
    next; a child forked for each repeat starts from the same state as the first repeat did, so a
    later repeat does not lean our way. Its own database connection; no interpreter start-up, no
    import (Splink's timing has none either).
    """
    connections.close_all()  # the child opens its own; a socket is never shared across the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: time the work, write "seconds" or "!error", leave without clean-up
        os.close(read)
        try:
            started = time.perf_counter()
            work()
            out = f"{time.perf_counter() - started:.6f}"
        except BaseException as exc:  # reported to the parent, which raises it
            out = f"!{type(exc).__name__}: {exc}"
        os.write(write, out.encode()[:4000])
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        got = pipe.read()
    os.waitpid(pid, 0)
    if not got or got.startswith("!"):
        raise RuntimeError(f"the timed work failed: {got[1:] or 'no answer'}")  # loudly
    return float(got)


def run_enf_link(user: Any) -> float:
    """ENF-LINK alone, as a run of the real engine on two fresh Celery workers; its wall time (workers already up).

    Fresh workers each time: the subject index and the name caches live as long as a worker process,
    and a warm second run would lean our way.
    """
    Finding.objects.filter(rule_code=RULE).delete()
    workers = p2._workers(2, quiet=True)
    try:
        p2._wait_for_workers()
        run, _progress, seconds = p2._full_run(user, rules=[RULE])
    finally:
        p2._stop(workers)  # which also lets go of this process's broker connections
    if run.status != RunStatus.DONE:
        errors = Partition.objects.filter(run=run).exclude(error="").values_list("error", flat=True)
        raise RuntimeError(f"the {RULE} run ended {run.status}: {next(iter(errors), '')[-600:]}")
    return seconds


def findings() -> dict[tuple[int, str], tuple[float, str]]:
    """(case id, subject ref) -> (score, severity) of every ENF-LINK finding."""
    rows = Finding.objects.filter(rule_code=RULE).values_list(
        "case_id", "evidence_key", "score", "severity"
    )
    return {(c, key.split(":", 1)[1]): (score, sev) for c, key, score, sev in rows}


def candidate_levels() -> tuple[list[tuple[int, str]], Any] | None:
    """Every ENF-LINK candidate pair, (case id, subject ref), and its comparison levels (identifiers
    refined as a run refines them): all that any scorer of these levels is given. In this process,
    not timed; None without an enforcement load."""
    current = sources.current_loads()
    if not current.get("enforcement"):
        return None
    model = LinkageModel.objects.current()
    params = parameters_of(model.pk) if model else DEFAULT
    forget()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {enforcement.CASE_COLUMNS} FROM {sources.CASES} c "  # nosec B608 # our table and columns
            "WHERE c.submitted_at IS NOT NULL",
            {"dhs": current.get("dhs", 0)},
        )
        cases = enforcement.case_columns(cur.fetchall())
        index = subject_index(current["enforcement"], cur)
        pc, ps, _ = enforcement.candidates(cases, index)
        got, _scores = enforcement.judge(cur, cases, index, pc, ps, params, review=1e-6)
    forget()
    pairs = [
        (int(cases.ids[c]), str(index.subjects[int(s)][1])) for c, s in zip(pc, ps, strict=True)
    ]
    return pairs, got.levels


def leads_on_a_document() -> int | None:
    """How many ENF-LINK leads share a document with their subject (None if findings no longer say)."""
    flags = Finding.objects.filter(rule_code=RULE, severity="high").values_list(
        "evidence__document_match", flat=True
    )
    seen = [f for f in flags if f is not None]
    return sum(bool(f) for f in seen) if seen else None


def record_counts() -> tuple[int, int]:
    """Cases and enforcement subjects in the database: the records a run links."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM verification_verificationcase")
        cases = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM verification_enforcementsubject")
        return cases, cur.fetchone()[0]


# --- The same records for Splink ----------------------------------------------------------------
_CASE_IDS = ("ssn", "a_number", "passport", "i94", "document_number")


def export_for_splink(work: Path) -> None:
    """Write work/cases.csv and work/subjects.csv: the records ENF-LINK links, with the fields it has.

    Names normalized by the product's normalizer (so both sides compare the same strings), the
    family name with the case's other last names (as ENF-LINK scores it), identifiers opened
    (Splink cannot compare blind indexes one digit apart) and typed by kind; a subject's SSN is
    its document of kind "ssn". One row per subject name: primary, then each alias.
    """
    table = "verification_verificationcase"
    columns = ", ".join(f"{p}_enc" for p in _CASE_IDS)
    with (work / "cases.csv").open("w", newline="") as fh, connection.chunked_cursor() as cur:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "given", "surname", "dob", "ssn", "docs"])
        cur.execute(
            f"SELECT id, first_name, last_name, coalesce(other_last_names, ''), date_of_birth, {columns} "
            f"FROM {table}"  # nosec B608 # our table and column names
        )
        for case_id, first, last, other, born, *tokens in cur:
            clear = {
                p: crypto.decrypt(t, table=table, column=f"{p}_enc", row_id=case_id) if t else ""
                for p, t in zip(_CASE_IDS, tokens, strict=True)
            }
            docs = [f"{KINDS[p]}:{clear[p]}" for p in _CASE_IDS[1:] if clear[p]]
            family = " ".join(n for n in (normalize_name(last), normalize_name(other)) if n)
            writer.writerow(
                [case_id, normalize_name(first), family, born or "", clear["ssn"], "|".join(docs)]
            )
    table = "verification_enforcementsubject"
    kinds = sorted(set(KINDS.values()))
    row_id = _SUBJECT_IDS
    with (work / "subjects.csv").open("w", newline="") as fh, connection.chunked_cursor() as cur:
        writer = csv.writer(fh)
        writer.writerow(["unique_id", "subject_ref", "given", "surname", "dob", "ssn", "docs"])
        cur.execute(
            "SELECT id, subject_ref, first_name, last_name, coalesce(aliases, '{}'), date_of_birth, "
            f"documents_enc, documents_bidx FROM {table}"  # nosec B608 # our table name
        )
        for subject_id, ref, first, last, aliases, born, tokens, indexes in cur:
            ssn, docs = "", []
            for i, (token, index) in enumerate(zip(tokens or [], indexes or [], strict=True)):
                value = crypto.decrypt(
                    token, table=table, column=f"documents_enc[{i}]", row_id=subject_id
                )
                kind = next(k for k in kinds if crypto.blind_index(value, kind=k) == index)
                if kind == "ssn" and not ssn:
                    ssn = value
                else:
                    docs.append(f"{kind}:{value}")
            names = [(normalize_name(first), normalize_name(last))]
            names += [normalize_name(a).partition(" ")[::2] for a in aliases]
            for given, family in names:
                row_id += 1
                writer.writerow(
                    [row_id, ref, given, family or given, born or "", ssn, "|".join(docs)]
                )
