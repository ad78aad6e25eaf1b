"""`manage.py crossref`: start, follow, cancel and compare cross-reference runs.

manage.py crossref rules
manage.py crossref run --user mona [--rules SSA-IDENTITY,SSN-VELOCITY] [--date-from 2026-01-01]
                       [--date-to ...] [--employers 3,4] [--shadow] [--partitions 16] [--inline]
                       [--wait [--timeout SECONDS]]
manage.py crossref status RUN_ID
manage.py crossref cancel RUN_ID --user mona
manage.py crossref compare RUN_ID
manage.py crossref quality
manage.py crossref sweep
manage.py crossref train-linkage --user ada [--cases 200000] [--random-pairs 400000] [--seed 0] [--candidate]
manage.py crossref promote-linkage VERSION --user ada
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.guards import holds_role
from core import queues
from core.errors import DomainError
from crossref import engine, registry, selectors, services
from crossref.linkage import training
from crossref.models import LinkageModel, Run, RunMode

# How often --wait asks again whether a worker consumes the partitions' queue.
CONSUMER_CHECK_SECONDS = 5.0


class Command(BaseCommand):
    help = "Start, follow, cancel and compare cross-reference runs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rules", help="list the rule registry")
        run = sub.add_parser("run", help="start a run as a user, under their agreements")
        run.add_argument("--user", required=True, help="username of the run's owner")
        run.add_argument(
            "--rules", default="", help="comma-separated rule codes (default: all current rules)"
        )
        run.add_argument("--date-from", default="")
        run.add_argument("--date-to", default="")
        run.add_argument("--employers", default="", help="comma-separated employer ids")
        run.add_argument(
            "--shadow", action="store_true", help="compare candidate rule versions; no findings"
        )
        run.add_argument("--partitions", type=int, default=None, help="SSN hash-range partitions")
        run.add_argument(
            "--inline", action="store_true", help="execute the partitions in this process"
        )
        run.add_argument("--wait", action="store_true", help="follow the run with a progress bar")
        run.add_argument(
            "--timeout",
            type=float,
            default=None,
            help="with --wait: give up after this many seconds, exit status 1 "
            "(default CROSSREF_WAIT_TIMEOUT_SECONDS)",
        )
        for name in ("status", "compare"):
            p = sub.add_parser(name)
            p.add_argument("run_id", type=int)
        cancel = sub.add_parser("cancel")
        cancel.add_argument("run_id", type=int)
        cancel.add_argument("--user", required=True)
        sub.add_parser("quality", help="per-rule quality counts (Data Integrity Board)")
        sub.add_parser("sweep", help="re-queue partitions whose lease expired")
        train = sub.add_parser(
            "train-linkage",
            help="estimate ENF-LINK's match model from the loaded data; prints the m/u table",
        )
        train.add_argument("--user", required=True, help="an admin or supervisor: who trained it")
        train.add_argument("--cases", type=int, default=200_000, help="cases sampled at most")
        train.add_argument(
            "--random-pairs",
            type=int,
            default=None,
            help="random pairs for u (default: 20 per record, from 50,000 to 400,000)",
        )
        train.add_argument("--seed", type=int, default=0)
        train.add_argument(
            "--candidate",
            action="store_true",
            help="store it inactive, for a shadow run against the current model",
        )
        promote = sub.add_parser("promote-linkage", help="make a trained model version current")
        promote.add_argument("version", type=int)
        promote.add_argument("--user", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"do_{opts['action'].replace('-', '_')}")(opts)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        return user

    def do_rules(self, opts: dict[str, Any]) -> None:
        for r in sorted(registry.REGISTRY.values(), key=lambda r: (r.family, r.code, r.version)):
            state = "current" if r.current else "candidate"
            self.stdout.write(
                f"{r.code:20} v{r.version} {state:9} {r.severity:6} {r.family:12} "
                f"[{', '.join(r.categories)}] {r.title}"
            )

    def do_run(self, opts: dict[str, Any]) -> None:
        user = self._user(opts["user"])
        scope = {
            "date_from": opts["date_from"],
            "date_to": opts["date_to"],
            "employer_ids": [e for e in opts["employers"].split(",") if e],
        }
        rules = [r for r in opts["rules"].split(",") if r]
        run = services.run_start(
            actor=user,
            rules=rules,
            scope=scope,
            mode=RunMode.SHADOW if opts["shadow"] else RunMode.NORMAL,
            ssn_partitions=opts["partitions"],
            enqueue=not opts["inline"],
        )
        self.stdout.write(
            f"Run {run.pk} started: {run.partitions_total} partitions, ~{run.rows_estimated} cases, "
            f"agreement {run.agreement_id}."
        )
        if opts["inline"]:
            self._follow_inline(run)
        else:
            idle = self._idle_queue(fresh=True)
            if idle:
                self.stderr.write(self.style.WARNING(queues.no_consumer_message(idle)))
            if opts["wait"]:
                timeout = opts["timeout"]
                self._follow(
                    run,
                    timeout=settings.CROSSREF_WAIT_TIMEOUT_SECONDS if timeout is None else timeout,
                    idle=idle,
                )
        self.do_status({"run_id": run.pk})

    def _idle_queue(self, *, fresh: bool = False) -> str | None:
        """The partitions' queue when no worker consumes it (None: consumed, or cannot tell)."""
        return queues.idle_queue_of(services.PARTITION_TASK, fresh=fresh)

    def _bar(self, run: Run) -> tqdm:
        return tqdm(
            total=run.partitions_total,
            unit="partition",
            desc=f"run {run.pk}",
            file=self.stderr._out,
        )

    def _follow_inline(self, run: Run) -> None:
        bar = self._bar(run)
        for pk in run.partitions.order_by("number").values_list("pk", flat=True):
            engine.partition_execute(pk)
            run.refresh_from_db()
            p = selectors.run_progress(run=run)
            bar.set_postfix(rows=p.rows_examined, hits=p.total_hits, rate=f"{p.rate:,.0f}/s")
            bar.update(1)
        bar.close()

    def _follow(self, run: Run, *, timeout: float, idle: str | None) -> None:
        """Follow the run until it ends; give up after `timeout` seconds (CommandError, exit 1).

        Every few seconds it asks again whether a worker consumes the partitions' queue, and
        says so when that changes.
        """
        bar = self._bar(run)
        done = 0
        started = time.monotonic()
        next_check = started + CONSUMER_CHECK_SECONDS
        try:
            while True:
                run.refresh_from_db()
                p = selectors.run_progress(run=run)
                bar.update(p.partitions_done - done)
                done = p.partitions_done
                bar.set_postfix(
                    rows=p.rows_examined,
                    hits=p.total_hits,
                    rate=f"{p.rate:,.0f}/s",
                    eta=f"{p.eta_seconds:.0f}s" if p.eta_seconds is not None else "-",
                )
                if run.status != "running":
                    return
                now = time.monotonic()
                if now - started >= timeout:
                    raise CommandError(
                        f"Gave up waiting after {timeout:.0f} s: run {run.pk} is still running, "
                        f"{p.partitions_done}/{p.partitions_total} partitions done. "
                        + (queues.no_consumer_message(idle) + " " if idle else "")
                        + f"The run goes on; follow it with `manage.py crossref status {run.pk}`."
                    )
                if now >= next_check:
                    was, idle = idle, self._idle_queue()
                    if idle and idle != was:
                        bar.write(queues.no_consumer_message(idle), file=self.stderr._out)
                    elif was and not idle:
                        bar.write(f"A worker now listens on queue {was}.", file=self.stderr._out)
                    next_check = now + CONSUMER_CHECK_SECONDS
                time.sleep(max(0.0, min(1.0, timeout - (now - started))))
        finally:
            bar.close()

    def do_status(self, opts: dict[str, Any]) -> None:
        run = Run.objects.filter(pk=opts["run_id"]).first()
        if run is None:
            raise CommandError("No such run.")
        p = selectors.run_progress(run=run)
        self.stdout.write(
            f"Run {run.pk} {p.status}: {p.partitions_done}/{p.partitions_total} partitions, "
            f"{p.rows_examined} rows examined, {p.total_hits} hits, {p.elapsed_seconds:.1f}s, {p.rate:,.0f} rows/s"
        )
        for code, n in sorted(p.hits.items()):
            self.stdout.write(f"  {code:24} {n:>8} hits {p.new_findings.get(code, 0):>8} new")
        for name, n in p.candidate_pairs.items():
            self.stdout.write(f"  blocking {name:24} {n:>10} candidate pairs")
        for err in p.errors:
            self.stdout.write(self.style.ERROR(f"  {err}"))

    def do_cancel(self, opts: dict[str, Any]) -> None:
        run = Run.objects.filter(pk=opts["run_id"]).first()
        if run is None:
            raise CommandError("No such run.")
        run = services.run_cancel(actor=self._user(opts["user"]), run=run)
        self.stdout.write(f"Run {run.pk}: {run.status}")

    def do_compare(self, opts: dict[str, Any]) -> None:
        run = Run.objects.filter(pk=opts["run_id"]).first()
        if run is None:
            raise CommandError("No such run.")
        for c in selectors.shadow_compare(run=run):
            self.stdout.write(
                f"{c.rule_code}: v{c.current_version} {c.current_hits} hits, "
                f"v{c.candidate_version} {c.candidate_hits} hits; "
                f"+{len(c.added)} added, -{len(c.removed)} removed (first 50 each)"
            )
            for s, e in c.added:
                self.stdout.write(f"  + {s} {e}")
            for s, e in c.removed:
                self.stdout.write(f"  - {s} {e}")

    def do_quality(self, opts: dict[str, Any]) -> None:
        for q in selectors.rule_quality():
            fp = "-" if q.false_positive_rate is None else f"{100 * q.false_positive_rate:.1f}%"
            self.stdout.write(
                f"{q.code:20} v{q.version} hits {q.hits:>8} open {q.open:>8} dismissed {q.dismissed:>6} "
                f"verified {q.verified:>6} adverse {q.adverse:>6} FP {fp}"
            )

    def do_sweep(self, opts: dict[str, Any]) -> None:
        self.stdout.write(str(services.partitions_sweep()))

    def do_train_linkage(self, opts: dict[str, Any]) -> None:
        user = self._user(opts["user"])
        if not holds_role(user, ("admin", "supervisor")):
            raise CommandError(
                f"{user.username} may not train the linkage model (admin or supervisor)."
            )
        for name in ("cases", "random_pairs"):
            if opts[name] is not None and opts[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        started = time.perf_counter()
        try:
            row, report = training.train(
                actor=user,
                cases=opts["cases"],
                random_pairs=opts["random_pairs"],
                seed=opts["seed"],
                candidate=opts["candidate"],
            )
        except training.NothingToTrainOn as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Linkage model v{row.version} ({row.digest}) trained on {report.cases} cases and "
            f"{report.subjects} subjects in {time.perf_counter() - started:.1f} s; "
            f"prior {report.params.prior:.3g} per pair; both names agree {report.params.names_joint:.2f}x "
            "as often as if independent (names_joint)."
        )
        for r in report.rounds:
            self.stdout.write(
                f"  EM round {r['round']}: {r['pairs']} pairs, {r.get('iterations', 0)} iterations"
                f"{'' if r.get('converged', True) else ' (not converged)'}, estimated {', '.join(r['estimated']) or 'nothing'}"
            )
        self.stdout.write(f"{'field':10} {'level':22} {'m':>10} {'u':>12} {'weight':>8}")
        for field, level, m, u, weight in training.table(report.params):
            self.stdout.write(f"{field:10} {level:22} {m:10.4g} {u:12.4g} {weight:8.2f}")

    def do_promote_linkage(self, opts: dict[str, Any]) -> None:
        user = self._user(opts["user"])
        if not holds_role(user, ("admin", "supervisor")):
            raise CommandError(
                f"{user.username} may not promote a linkage model (admin or supervisor)."
            )
        try:
            row = training.promote(actor=user, version=opts["version"])
        except LinkageModel.DoesNotExist as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Linkage model v{row.version} ({row.digest}) is current.")
