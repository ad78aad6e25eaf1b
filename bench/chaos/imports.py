"""The chaos harness's `import` phase: faults in the middle of two bulk imports.

Its world is a database of its own, made once (`python -m bench.chaos.imports DIR N SEED`;
a copy of the cross-reference phases' database when they ran first): the demo directory, two enrolled employers, SSA and DHS reference extracts of N people loaded
with `manage.py load_reference`, and two import files of N/2 new hires each. Each round starts
from a copy of that database (CREATE DATABASE … TEMPLATE) and an empty checkpoint file, starts
two workers and beat, and stages both files with `manage.py import_cases --no-wait`, as an
employer's operator would:
- the first all or nothing (every row good: one transaction, imported whole);
- the second good rows only (2% bad rows, reported by line; chunk by chunk).

The clock starts once both are staged. The round ends, without anyone stepping in, when both jobs
are done (or refused), the last audit event is sealed and a signed checkpoint covers it. Only
the import's public entry points are used (the commands, the Celery task the command queues,
beat's resume sweep), so the harness holds whatever the import's internals become.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2

from bench.chaos import checks, faults
from bench.chaos.stack import ROOT, Celery
from bench.people import person

if TYPE_CHECKING:
    from bench.chaos.harness import Harness

FILES = (("all-good.csv", "all_or_nothing"), ("mixed.csv", "good_rows"))
FINAL = ("done", "refused", "failed")
# Every column the import decides for a case (not its id, worker id or timestamps), with the
# instant result's comparisons, in the order of the employers and the rows' idempotency keys.
CASES_DIGEST = """
SELECT count(*),
       md5(coalesce(string_agg(md5(concat_ws('|', e.ein, v.import_key, v.employer_case_id,
           v.status, v.result, v.tnc_source, v.name_review_requested, v.tnc_issued_on,
           v.decision_due_on, v.nmt_due_on, v.closure_code, v.duplicate_of_id IS NOT NULL,
           v.ssn_last4, v.first_name, v.last_name, v.date_of_birth, v.citizenship_status,
           (SELECT string_agg(c.source || ':' || c.field || ':' || c.outcome || ':'
                              || coalesce(c.score::text, ''), ',' ORDER BY c.source, c.field)
              FROM verification_casecomparison c WHERE c.case_id = v.id))),
           ',' ORDER BY e.ein, v.import_key), ''))
  FROM verification_verificationcase v JOIN verification_employer e ON e.id = v.employer_id
 WHERE v.import_key <> ''
"""
# The same person twice at an employer (each file names a person once), or a key twice.
DUPLICATES = """
SELECT (count(*) - count(DISTINCT (employer_id, ssn_bidx)))
     + (count(*) - count(DISTINCT (employer_id, import_key)))
  FROM verification_verificationcase WHERE import_key <> ''
"""
ERRORS_DIGEST = """
SELECT count(*), md5(coalesce(string_agg(concat_ws('|', j.file_name, r.line, r.field, r.message),
       ',' ORDER BY j.file_name, r.line, r.field, r.message), ''))
  FROM verification_importrowerror r JOIN verification_importjob j ON j.id = r.job_id
"""
JOBS = """
SELECT file_name, mode, status, rows_total, rows_imported, rows_already, rows_invalid,
       results::text
  FROM verification_importjob ORDER BY file_name
"""


@dataclass
class Outcome:
    """What one import round left behind."""

    jobs: list[tuple]
    cases: int
    cases_digest: str
    errors: int
    errors_digest: str
    duplicates: int
    chain_ok: bool
    chain_detail: str
    checkpoint_seq: int
    head_seq: int


@dataclass
class Round:
    total_seconds: float
    outcome: Outcome
    restarts: int = 0


@dataclass
class Result:
    """An import round under a fault against the undisturbed one."""

    fault: str
    title: str
    events: list[tuple[float, str]]
    recovery_seconds: float
    round: Round | None
    reference: Round
    skipped: str = ""
    phase: str = "import"

    @property
    def equal(self) -> bool:
        if self.round is None:
            return False
        got, ref = self.round.outcome, self.reference.outcome
        return (
            all(job[2] == "done" for job in got.jobs)
            and got.jobs == ref.jobs
            and got.cases_digest == ref.cases_digest
            and got.errors_digest == ref.errors_digest
            and got.duplicates == 0
            and got.chain_ok
            and got.checkpoint_seq >= got.head_seq
        )

    def line(self) -> str:
        if self.skipped:
            return f"{self.fault:8} [import] skipped: {self.skipped}"
        if self.round is None:
            return f"{self.fault:8} [import] DIFFERENT: did not finish"
        got, ref = self.round.outcome, self.reference.outcome
        same = lambda a, b: "equal" if a == b else "DIFFERENT"  # noqa: E731
        return (
            f"{self.fault:8} [import] recovered in {self.recovery_seconds:.1f}s; round "
            f"{self.round.total_seconds:.1f}s vs {self.reference.total_seconds:.1f}s undisturbed; "
            f"jobs {'/'.join(job[2] for job in got.jobs)} {same(got.jobs, ref.jobs)}; "
            f"cases {got.cases:,} {same(got.cases_digest, ref.cases_digest)}; "
            f"bad rows reported {got.errors:,} {same(got.errors_digest, ref.errors_digest)}; "
            f"duplicates {got.duplicates}; chain "
            f"{'verified' if got.chain_ok else 'BROKEN: ' + got.chain_detail}; checkpoint "
            f"{'caught up' if got.checkpoint_seq >= got.head_seq else 'BEHIND'} "
            f"(seq {got.checkpoint_seq} >= {got.head_seq}); restarts {self.round.restarts}: "
            f"{'EQUAL' if self.equal else 'DIFFERENT'}"
        )


class ImportPhase:
    """The import world's database, its copies, and the rounds over them."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.base = f"{harness.database}_import"
        self.copy = f"{harness.database}_import_round"
        self.dir = harness.work / "import"
        self.rows = max(200, harness.cfg.import_rows or harness.cfg.scale)
        self.chunk_rows = max(50, self.rows // 40)  # about 20 chunks a file
        self.employers: dict[str, int] = {}
        self.aside = harness.disk.dir / "checkpoints.other-phases.jsonl"

    @property
    def url(self) -> str:
        return f"{self.h.base_url}/{self.copy}"

    def env(self) -> dict[str, str]:
        return self.h.env(
            DATABASE_URL=self.url,
            CROSSCHECK_IMPORT_CHUNK_ROWS=str(self.chunk_rows),
            # A job without progress for this long is queued again by beat, which looks often.
            CROSSCHECK_IMPORT_STALLED_SECONDS="10",
            CROSSCHECK_IMPORT_RESUME_SECONDS="3",
        )

    def _admin(self, *statements: str) -> None:
        admin = psycopg2.connect(f"{self.h.base_url}/postgres")
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
        finally:
            admin.close()

    # --- Set-up ---------------------------------------------------------------------------------
    def __enter__(self) -> ImportPhase:
        # After the cross-reference phases, their database (migrated, with the directory) is
        # the import world's start: a copy costs seconds, migrations a minute or more.
        template = ""
        if self.h.db is not None:
            self.h.db.close()
            template = f' TEMPLATE "{self.h.database}"'
        self._admin(
            f'DROP DATABASE IF EXISTS "{self.base}" WITH (FORCE)',
            f'CREATE DATABASE "{self.base}"{template}',
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.chaos.imports",
                str(self.dir),
                str(self.rows),
                str(self.h.cfg.seed),
            ],
            cwd=ROOT,
            env=self.h.env(DATABASE_URL=f"{self.h.base_url}/{self.base}"),
            check=True,
            capture_output=True,
            text=True,
        )
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        self.employers = facts["employers"]
        files = ", ".join(f"{name} ({facts['rows'][name]:,} rows)" for name, _mode in FILES)
        self.h.say(
            f"import world: {facts['people']:,} people in the SSA/DHS extracts, files {files}, "
            f"{self.chunk_rows} rows a chunk, in {facts['seconds']:.1f}s"
        )
        # The import rounds' databases have chains of their own: the other phases' checkpoint
        # file is set aside meanwhile (on the same small disk, which the disk fault fills).
        with contextlib.suppress(FileNotFoundError):
            self.h.disk.path.rename(self.aside)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.h.disk.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.aside.rename(self.h.disk.path)
        if not self.h.cfg.keep:
            with contextlib.suppress(psycopg2.Error):
                self._admin(
                    f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)',
                    f'DROP DATABASE IF EXISTS "{self.base}" WITH (FORCE)',
                )

    # --- Rounds ---------------------------------------------------------------------------------
    def run_all(self, names: list[str], rng: random.Random) -> tuple[Round, list[Result]]:
        reference = self.round()
        ref = reference.outcome
        self.h.say(
            f"undisturbed import: {reference.total_seconds:.1f}s, jobs "
            f"{'/'.join(j[2] for j in ref.jobs)}, {ref.cases:,} cases, {ref.errors:,} bad rows "
            f"reported, duplicates {ref.duplicates}, chain {ref.chain_detail}"
        )
        results = []
        for name in names:
            fault = faults.build(name, rng, self.h)
            result = self.fault_round(fault, reference)
            self.h.say(result.line())
            results.append(result)
        return reference, results

    def fault_round(self, fault: faults.Fault, reference: Round) -> Result:
        if fault.skipped:
            return Result(fault.name, fault.title, [], 0.0, None, reference, fault.skipped)
        span = reference.total_seconds
        self.h.say(
            f"-- {fault.title} [import]: points "
            + (", ".join(f"{p * span:.1f}s" for p in fault.points) or "the whole round")
            + f" (seed {self.h.cfg.seed})"
        )
        try:
            got: Round | None = self.round(fault=fault, span=span)
        except RuntimeError as exc:
            self.h.say(f"   {exc}")
            got = None
        end = fault.last_end if fault.last_end is not None else 0.0
        recovery = (got.total_seconds - end) if got is not None else math.inf
        return Result(fault.name, fault.title, fault.events, recovery, got, reference)

    def round(self, *, fault: faults.Fault | None = None, span: float = 0.0) -> Round:
        self._admin(
            f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)',
            f'CREATE DATABASE "{self.copy}" TEMPLATE "{self.base}"',
        )
        with contextlib.suppress(FileNotFoundError):
            self.h.disk.path.unlink()  # this copy's chain has no checkpoint yet
        db = checks.Db(self.url)
        env = self.env()
        celery = Celery(
            env, self.h.work / "logs" / "import", worker_env=fault.worker_env if fault else [{}, {}]
        )
        celery.start()
        try:
            self.h._wait_workers(len(celery.workers))
            jobs = [self._stage(env, name, mode) for name, mode in FILES]
            started = time.monotonic()
            injector = None
            if fault is not None and fault.points:
                injector = threading.Thread(
                    target=self.h._inject,
                    args=(fault, celery, "import", span, started, threading.Event()),
                    daemon=True,
                )
                injector.start()
            total, head = self._follow(db, jobs, started, injector)
            restarts = celery.restarts()
        finally:
            celery.stop()
        try:
            return Round(total, self._outcome(db, env, head), restarts)
        finally:
            db.close()

    def _stage(self, env: dict[str, str], name: str, mode: str) -> int:
        """`manage.py import_cases FILE --employer ID --no-wait`: staged and queued; the job's id."""
        cmd = [
            sys.executable,
            "manage.py",
            "import_cases",
            str(self.dir / name),
            "--employer",
            str(self.employers[name]),
            "--no-wait",
            "--no-progress",
        ]
        if mode == "good_rows":
            cmd.append("--good-rows-only")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        found = re.search(r"Import (\d+):", done.stdout)
        if found is None:
            raise RuntimeError(f"no import staged: {done.stdout} {done.stderr}")
        return int(found.group(1))

    def _follow(
        self, db: checks.Db, jobs: list[int], started: float, injector: threading.Thread | None
    ) -> tuple[float, int]:
        """Wait until both jobs are over, the fault has played out, the last event is sealed and
        a checkpoint covers it; the round's time and the seal's seq."""
        timeout = float(os.environ.get("CHAOS_ROUND_TIMEOUT", 1800 + self.rows / 100))
        last = 0  # the work's last event, once it is over (checkpoints are events: they go on)
        while time.monotonic() - started < timeout:
            time.sleep(0.5)
            try:
                if not last:
                    states = db.query(
                        "SELECT status FROM verification_importjob WHERE id = ANY(%s)", (jobs,)
                    )
                    if len(states) < len(jobs) or any(s[0] not in FINAL for s in states):
                        continue
                    if injector is not None and injector.is_alive():
                        continue
                    last = db.one("SELECT coalesce(max(id), 0) FROM audit_event")[0]
                row = db.one("SELECT seq FROM audit_seal WHERE event_id = %s", (last,))
                if not row or checks.checkpoint_seq(self.h.disk.path) < int(row[0]):
                    continue
                return time.monotonic() - started, int(row[0])
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                continue  # the database is being restarted: the fault, not the end
        raise RuntimeError(f"the import round did not finish in {timeout:.0f}s")

    def _outcome(self, db: checks.Db, env: dict[str, str], head: int) -> Outcome:
        cases, cdigest = db.one(CASES_DIGEST, retry=60)
        errors, edigest = db.one(ERRORS_DIGEST, retry=60)
        ok, detail = checks.chain_verify(env)
        return Outcome(
            jobs=[tuple(r) for r in db.query(JOBS, retry=60)],
            cases=int(cases),
            cases_digest=cdigest,
            errors=int(errors),
            errors_digest=edigest,
            duplicates=int(db.one(DUPLICATES, retry=60)[0]),
            chain_ok=ok,
            chain_detail=detail,
            checkpoint_seq=checks.checkpoint_seq(self.h.disk.path),
            head_seq=head,
        )


# --- The import world (its own process: `python -m bench.chaos.imports DIR N SEED`) ----------
BAD = (  # what makes a row of the mixed file bad, in turn
    ("date_of_birth", "1990-13-45"),
    ("ssn", "12345"),
    ("last_name", ""),
    ("citizenship_status", "martian"),
)


def write_files(
    folder: Path, n: int, seed: int, columns: tuple[str, ...], ref: dict[str, list[str]]
) -> dict[str, int]:
    """The SSA and DHS extracts of `n` people (`ref`: their columns) and the two import files
    (`columns`), half of the people each."""
    rnd = random.Random(seed)
    today = date.today()
    counts = dict.fromkeys((name for name, _mode in FILES), 0)
    with (
        (folder / "ssa.csv").open("w", newline="") as ssa_fh,
        (folder / "dhs.csv").open("w", newline="") as dhs_fh,
        (folder / FILES[0][0]).open("w", newline="") as good_fh,
        (folder / FILES[1][0]).open("w", newline="") as mixed_fh,
    ):
        ssa, dhs = csv.writer(ssa_fh), csv.writer(dhs_fh)
        ssa.writerow(ref["ssa"])
        dhs.writerow(ref["dhs"])
        out = [csv.DictWriter(fh, fieldnames=list(columns)) for fh in (good_fh, mixed_fh)]
        for writer in out:
            writer.writeheader()
        for i in range(n):
            s, d, row = person(i, rnd, today)
            if s:
                ssa.writerow(s)
            if d:
                dhs.writerow(d)
            which = i % 2
            if which == 1 and i % 100 == 1:  # 2% of the mixed file's rows are bad
                column, value = BAD[(i // 100) % len(BAD)]
                row[column] = value
            out[which].writerow({c: row.get(c, "") for c in columns})
            counts[FILES[which][0]] += 1
    return counts


def main(folder: Path, n: int, seed: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from privacy.demo import demo_directory_load
    from privacy.models import User
    from verification.imports.reading import COLUMNS
    from verification.loading import COLUMNS as REF
    from verification.services.employers import employer_enrol

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    demo_directory_load()
    adam = User.objects.get(username="adam")
    employers = {
        name: employer_enrol(
            actor=adam,
            ein=f"{73 + k:02d}1234567",
            name=f"Chaos Imports {k + 1}",
            naics="311812",
            state="TX",
            mou_signed_on=date(2020, 1, 1),
        ).pk
        for k, (name, _mode) in enumerate(FILES)
    }
    rows = write_files(folder, n, seed, COLUMNS, REF)
    for source in ("ssa", "dhs"):
        call_command(
            "load_reference", str(folder / f"{source}.csv"), source=source, no_progress=True
        )
    print(
        json.dumps(
            {
                "employers": employers,
                "people": n,
                "rows": rows,
                "seconds": time.perf_counter() - started,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
