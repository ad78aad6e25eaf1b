"""The chaos harness: an undisturbed round, then one round per fault, each compared with it.

A round empties the run's tables (findings, partitions, runs, flagged cases; the audit trail is
append-only and keeps growing), starts two workers and beat, starts a cross-reference run as the
demo admin, and waits, without stepping in, until the run is closed, every finding is a flagged
case, the audit chain is sealed and a signed checkpoint covers its head.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from celery import Celery as CeleryApp

from bench.chaos import checks, faults, imports
from bench.chaos.stack import ROOT, Celery, CheckpointDisk, PrivatePostgres, PrivateRedis


@dataclass
class Config:
    """What to run: the scale and seed, the faults and phases, where, and how long to wait."""

    scale: int = 1_000_000
    seed: int = 7
    faults: list[str] = field(default_factory=lambda: list(faults.FAULTS))
    phases: list[str] = field(default_factory=lambda: ["run"])
    postgres: str = ""  # an existing server's URL; empty: a private cluster (needed for "postgres")
    database: str = ""
    down_seconds: float = 5.0
    lease: int = 0  # the fault rounds' partition lease; 0: three times the longest partition
    keep: bool = False
    say: bool = True
    import_rows: int = 0  # rows of the import phase's two files in all; 0: the scale
    import_faults: list[str] | None = None  # the import phase's faults; None: `faults`


@dataclass
class Round:
    """One round's times and what it left behind."""

    run_seconds: float
    ingest_seconds: float
    total_seconds: float
    outcome: checks.Outcome
    restarts: int = 0
    longest_partition: float = 0.0
    attempts: int = 0
    partitions: int = 0


@dataclass
class Result:
    """A fault round against the undisturbed one."""

    fault: str
    phase: str
    title: str
    events: list[tuple[float, str]]
    recovery_seconds: float
    round: Round | None
    reference: Round
    skipped: str = ""

    @property
    def equal(self) -> bool:
        if self.round is None:
            return False
        got, ref = self.round.outcome, self.reference.outcome
        return (
            got.status == "done"
            and got.findings_digest == ref.findings_digest
            and got.cases_digest == ref.cases_digest
            and got.duplicates == 0
            and got.pending == 0
            and got.chain_ok
            and got.checkpoint_seq >= got.head_seq
        )

    def line(self) -> str:
        if self.skipped:
            return f"{self.fault:8} [{self.phase}] skipped: {self.skipped}"
        if self.round is None:
            return f"{self.fault:8} [{self.phase}] DIFFERENT: did not finish"
        got, ref = self.round.outcome, self.reference.outcome
        same = lambda a, b: "equal" if a == b else "DIFFERENT"  # noqa: E731
        return (
            f"{self.fault:8} [{self.phase}] recovered in {self.recovery_seconds:.1f}s; round "
            f"{self.round.total_seconds:.1f}s vs {self.reference.total_seconds:.1f}s undisturbed; "
            f"run {got.status}; findings {got.findings:,} {same(got.findings_digest, ref.findings_digest)}; "
            f"flagged cases {got.cases:,} {same(got.cases_digest, ref.cases_digest)}; "
            f"duplicates {got.duplicates}; not ingested {got.pending}; chain "
            f"{'verified' if got.chain_ok else 'BROKEN: ' + got.chain_detail}; checkpoint "
            f"{'caught up' if got.checkpoint_seq >= got.head_seq else 'BEHIND'} "
            f"(seq {got.checkpoint_seq} >= {got.head_seq}); restarts {self.round.restarts}; "
            f"claims {self.round.attempts}/{self.round.partitions}: "
            f"{'EQUAL' if self.equal else 'DIFFERENT'}"
        )


class Harness:
    """The private servers, the data, and the rounds."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.work = Path(tempfile.mkdtemp(prefix="crosscheck-chaos-"))
        os.chmod(self.work, 0o755)  # nosec B103 # the postgres user walks through it to its throwaway cluster
        self.pg: PrivatePostgres | None = None
        self.redis = PrivateRedis(self.work)
        self.disk = CheckpointDisk(self.work)
        self.database = cfg.database or f"chaos_{cfg.scale}"
        self.base_url = cfg.postgres
        self.lease = 900
        self.checkpoint_seconds = 5
        self.partitions = max(8, cfg.scale // 62_500)
        self.db: checks.Db | None = None
        self.seconds: dict[str, float] = {}  # each kind of phase's time, its world included

    def say(self, text: str) -> None:
        if self.cfg.say:
            print(text, flush=True)

    # --- Set-up ---------------------------------------------------------------------------------
    def __enter__(self) -> Harness:
        started = time.monotonic()
        try:
            self._setup()
            self.seconds["world"] = time.monotonic() - started
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def crossref_phases(self) -> list[str]:
        """The phases over the cross-reference run's world (the import phase has its own)."""
        return [p for p in self.cfg.phases if p in ("run", "ingest")]

    def _setup(self) -> None:
        if not self.base_url:
            self.pg = PrivatePostgres(self.work)
            self.pg.init()
            self.base_url = self.pg.base_url
            self.say(
                f"private PostgreSQL ({self.pg.bin}) on port {self.pg.port}, data {self.pg.data}"
            )
        self.redis.start()
        self.say(f"private Redis on port {self.redis.port}")
        self.say(
            f"checkpoints on a {CheckpointDisk.SIZE} tmpfs at {self.disk.dir}"
            if self.disk.mounted
            else f"checkpoints at {self.disk.dir} ({self.disk.why_not})"
        )
        if not self.crossref_phases:
            return
        admin = psycopg2.connect(f"{self.base_url}/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.database}"')
        admin.close()
        self.db = checks.Db(f"{self.base_url}/{self.database}")
        subprocess.run(
            [sys.executable, "-m", "bench.chaos.prepare", str(self.cfg.scale), str(self.cfg.seed)],
            cwd=ROOT,
            env=self.env(),
            check=True,
            stdout=None if self.cfg.say else subprocess.DEVNULL,
        )

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of every process of the harness's stack."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"{self.base_url}/{self.database}",
            "REDIS_URL": self.redis.url,
            "CROSSCHECK_VAR_DIR": str(self.work / "var"),
            "CROSSCHECK_AUDIT_CHECKPOINT_PATH": str(self.disk.path),
            "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": str(self.work / "keys" / "checkpoint.pem"),
            "CROSSCHECK_AUDIT_CHECKPOINT_SECONDS": str(self.checkpoint_seconds),
            "CROSSCHECK_CASES_INGEST_SECONDS": "10",
            "CROSSCHECK_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",  # the logs of a killed process are kept to its last line
            "CROSSREF_SSN_PARTITIONS": str(self.partitions),
            "CROSSREF_LEASE_SECONDS": str(self.lease),
            "CROSSREF_RESEND_PENDING_AFTER_SECONDS": str(self.lease),
            "CROSSREF_SWEEP_SECONDS": "5",
            **extra,
        }

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        if self.cfg.postgres and not self.cfg.keep:
            # A shared server keeps nothing of the harness (a private cluster goes with its directory).
            with contextlib.suppress(psycopg2.Error):
                admin = psycopg2.connect(f"{self.base_url}/postgres")
                admin.autocommit = True
                with admin.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                admin.close()
        self.redis.stop()
        if self.pg is not None:
            self.pg.stop()
        self.disk.close()
        if not self.cfg.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"kept {self.work}")

    # --- Rounds ---------------------------------------------------------------------------------
    def run_all(self) -> tuple[Round | None, list[Result | imports.Result]]:
        """The undisturbed round, then each fault in each phase; one printed line per fault.

        The import phase has a world and an undisturbed round of its own (bench/chaos/imports.py);
        the returned reference is the cross-reference run's (None without its phases).
        """
        rng = random.Random(self.cfg.seed)
        started = time.monotonic()
        reference, results = self._crossref_rounds(rng) if self.crossref_phases else (None, [])
        self.seconds["crossref"] = time.monotonic() - started
        if "import" in self.cfg.phases:
            started = time.monotonic()
            with imports.ImportPhase(self) as phase:
                names = (
                    self.cfg.faults if self.cfg.import_faults is None else self.cfg.import_faults
                )
                _undisturbed, more = phase.run_all(names, rng)
            results.extend(more)
            self.seconds["import"] = time.monotonic() - started
            self.say(f"import phase: {self.seconds['import']:.0f}s in all")
        return reference, results

    def _crossref_rounds(self, rng: random.Random) -> tuple[Round, list[Result | imports.Result]]:
        reference = self.round()
        self.lease = self.cfg.lease or max(30, math.ceil(3 * reference.longest_partition))
        self.say(
            f"undisturbed: run {reference.run_seconds:.1f}s, ingest {reference.ingest_seconds:.1f}s, "
            f"{reference.outcome.findings:,} findings, {reference.outcome.cases:,} flagged cases, "
            f"chain {reference.outcome.chain_detail}; longest partition "
            f"{reference.longest_partition:.1f}s, so the lease of the fault rounds is {self.lease}s"
        )
        results: list[Result | imports.Result] = []
        for phase in self.crossref_phases:
            for name in self.cfg.faults:
                fault = faults.build(name, rng, self)
                result = self.fault_round(fault, phase, reference)
                self.say(result.line())
                if result.round is not None:
                    for line in checks.case_differences(result.round.outcome, reference.outcome):
                        self.say(f"   differs: {line}")
                results.append(result)
        return reference, results

    def fault_round(self, fault: faults.Fault, phase: str, reference: Round) -> Result:
        if fault.skipped:
            return Result(fault.name, phase, fault.title, [], 0.0, None, reference, fault.skipped)
        span = reference.run_seconds if phase == "run" else reference.ingest_seconds
        self.say(
            f"-- {fault.title} [{phase}]: points "
            + (", ".join(f"{p * span:.1f}s" for p in fault.points) or "the whole round")
            + f" (seed {self.cfg.seed})"
        )
        try:
            got: Round | None = self.round(fault=fault, phase=phase, span=span)
        except RuntimeError as exc:
            self.say(f"   {exc}")
            got = None
        end = fault.last_end if fault.last_end is not None else 0.0
        recovery = (got.total_seconds - end) if got is not None else math.inf
        return Result(fault.name, phase, fault.title, fault.events, recovery, got, reference)

    def round(
        self, *, fault: faults.Fault | None = None, phase: str = "run", span: float = 0.0
    ) -> Round:
        assert self.db is not None
        self.db.query(checks.RESET, retry=120)
        celery = Celery(
            self.env(), self.work / "logs", worker_env=fault.worker_env if fault else [{}, {}]
        )
        celery.start()
        try:
            self._wait_workers(len(celery.workers))
            # The clock starts once the command that started the run is back: its partitions are
            # queued by then, and a fault point never falls inside its Python start-up.
            run_id = self._start_run()
            started = time.monotonic() - self._run_age(run_id)
            run_done = threading.Event()
            injector = None
            if fault is not None and fault.points:
                injector = threading.Thread(
                    target=self._inject,
                    args=(fault, celery, phase, span, started, run_done),
                    daemon=True,
                )
                injector.start()
            run_seconds, total, head = self._follow(run_id, started, run_done, injector)
            restarts = celery.restarts()
        finally:
            celery.stop()
        outcome = checks.outcome(self.db, run_id, self.env(), self.disk.path, head)
        longest, attempts, parts = self.db.one(
            # finished_at is the done transaction's start: the rules' own time is in timings.
            """SELECT coalesce(max(extract(epoch FROM finished_at - started_at)
                                   + (SELECT coalesce(sum(v::float), 0)
                                        FROM jsonb_each_text(timings) AS t(k, v))), 0),
                      coalesce(sum(attempts), 0), count(*) FROM crossref_partition""",
            retry=60,
        )
        return Round(
            run_seconds=run_seconds,
            ingest_seconds=total - run_seconds,
            total_seconds=total,
            outcome=outcome,
            restarts=restarts,
            longest_partition=float(longest),
            attempts=int(attempts),
            partitions=int(parts),
        )

    def _wait_workers(self, count: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            app = CeleryApp(broker=self.redis.url)
            try:
                if len(app.control.ping(timeout=1.0)) >= count:
                    return
            except Exception:
                pass
            finally:
                app.close()
            time.sleep(0.5)
        raise RuntimeError("the harness's Celery workers did not start")

    def _run_age(self, run_id: int) -> float:
        """Seconds since the run started, on the database's clock (the command's start-up excluded)."""
        assert self.db is not None
        row = self.db.one(
            "SELECT extract(epoch FROM clock_timestamp() - started_at) FROM crossref_run WHERE id = %s",
            (run_id,),
        )
        return float(row[0])

    def _start_run(self) -> int:
        done = subprocess.run(
            [sys.executable, "manage.py", "crossref", "run", "--user", "adam"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        found = re.search(r"Run (\d+) started", done.stdout)
        if found is None:
            raise RuntimeError(f"no run started: {done.stdout} {done.stderr}")
        return int(found.group(1))

    def _inject(
        self,
        fault: faults.Fault,
        celery: Celery,
        phase: str,
        span: float,
        started: float,
        run_done: threading.Event,
    ) -> None:
        rng = random.Random(f"{self.cfg.seed}:{fault.name}:{phase}")
        base = started
        if phase == "ingest":
            run_done.wait()
            base = time.monotonic()
        for point in fault.points:
            delay = base + point * span - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            at = time.monotonic() - started
            what = fault.action(self, celery, rng)
            fault.last_end = time.monotonic() - started
            fault.events.append((at, what))
            self.say(f"   {at:7.1f}s  {what}")

    def _follow(
        self,
        run_id: int,
        started: float,
        run_done: threading.Event,
        injector: threading.Thread | None,
    ) -> tuple[float, float, int]:
        """Wait until the run closed, every finding is ingested, the chain is sealed and a
        checkpoint covers its head (and the fault has played out); the run's and the total time, and
        the seq of the work's last sealed event."""
        assert self.db is not None
        run_seconds = 0.0
        timeout = float(os.environ.get("CHAOS_ROUND_TIMEOUT", 3600 + self.cfg.scale / 200))
        while time.monotonic() - started < timeout:
            time.sleep(0.5)
            try:
                status = self.db.one("SELECT status FROM crossref_run WHERE id = %s", (run_id,))[0]
                if status == "running":
                    continue
                if not run_done.is_set():
                    run_seconds = time.monotonic() - started
                    run_done.set()
                if injector is not None and injector.is_alive():
                    continue
                if self.db.one("SELECT count(*) FROM crossref_finding WHERE ingested_at IS NULL")[
                    0
                ]:
                    continue
                # The work is over: the last event it wrote must be sealed, and a signed
                # checkpoint must cover that seal (each checkpoint is itself an event, so the head
                # moves on behind it: "caught up" is about the work's events).
                last_event = self.db.one("SELECT coalesce(max(id), 0) FROM audit_event")[0]
                head = self._sealed(last_event, started, timeout)
                while checks.checkpoint_seq(self.disk.path) < head:
                    if time.monotonic() - started > timeout:
                        raise RuntimeError("no checkpoint caught up with the chain")
                    time.sleep(0.5)
                return run_seconds, time.monotonic() - started, head
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                continue  # the database is being restarted: the fault, not the end
        raise RuntimeError(f"the round did not finish in {timeout:.0f}s")

    def _sealed(self, event_id: int, started: float, timeout: float) -> int:
        """The seq of the seal of `event_id`, once the sealer has chained it."""
        assert self.db is not None
        while time.monotonic() - started < timeout:
            row = self.db.one("SELECT seq FROM audit_seal WHERE event_id = %s", (event_id,))
            if row:
                return int(row[0])
            time.sleep(0.5)
        raise RuntimeError(f"audit event {event_id} was never sealed")
