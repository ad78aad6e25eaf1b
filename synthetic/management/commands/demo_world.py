"""`manage.py demo_world`: synthetic employers, cases and leads for `make run` (development only).

Idempotent: the synthetic world is loaded once per database (a second `make run` keeps it), and
each part of the working state (`synthetic.demo_stage`) is staged only when it is missing. It loads
a small synthetic world (with ground-truth labels under var/synthetic/), runs every
cross-reference rule as the demo admin under the demo matching agreements, ingests the findings
into flagged cases, then stages a few weeks of work: history, round-robin assignment, cases
awaiting sign-off, an audit review sample, a break-glass use, a recertification campaign and a
Privacy Act request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import RoutingRule
from core.cli import positive_int
from privacy.demo import DEMO_PASSWORD, demo_totp_key, totp_secret_base32
from privacy.models import Unit, User
from synthetic.demo_stage import demo_stage
from verification.models import Employer, VerificationCase
from verification.services.portal import employer_admin_invite


class Command(BaseCommand):
    help = "Load a small synthetic world, run the cross-reference and fill the triage queues (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employers", type=int, default=40)
        parser.add_argument("--cases", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--run-as", default="adam", help="the demo user who runs the matching")
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=2,
            help="processes that load the generated data (1: in this process; a caller with "
            "threads, such as a test's live server, must not fork)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "ALLOW_DEV_TOOLS", False):
            raise CommandError("demo_world is for development only; production refuses it.")
        if VerificationCase.objects.exists():
            self.stdout.write("Demo world already loaded; keeping it.")
        else:
            self._load(options)
        demo_stage(seed=options["seed"], say=self.stdout.write)

    def _load(self, options: dict[str, Any]) -> None:
        call_command(
            "generate_synthetic",
            employers=options["employers"],
            cases=options["cases"],
            seed=options["seed"],
            workers=options["workers"],
        )
        call_command("crossref", "run", user=options["run_as"], inline=True)
        self._routing()
        call_command("cases_ingest")
        self._employer_admin(options["run_as"])

    def _employer_admin(self, admin_username: str) -> None:
        """emma administers the first demo employer in the employer portal (/employer/)."""
        admin = User.objects.filter(username=admin_username).first()
        employer = Employer.objects.order_by("name").first()
        if admin is None or employer is None or User.objects.filter(username="emma").exists():
            return
        access, _ = employer_admin_invite(
            actor=admin,
            employer=employer,
            username="emma",
            email="emma@example.test",
            first_name="Emma",
            last_name="Employer",
        )
        access.user.set_password(DEMO_PASSWORD)
        access.user.save(update_fields=["password"])
        key = demo_totp_key("emma")
        TOTPDevice.objects.get_or_create(
            user=access.user, name="Demo authenticator", defaults={"key": key, "confirmed": True}
        )
        self.stdout.write(
            f"  emma       employer administrator of {employer.name} (portal: /employer/), "
            f"password {DEMO_PASSWORD}, TOTP secret {totp_secret_base32(key)}"
        )

    def _routing(self) -> None:
        # Identity leads to Worksite A, employer-behaviour leads to Worksite B (an admin edits these).
        units = {u.code: u for u in Unit.objects.filter(agency__code="ice-hsi")}
        if "worksite-a" in units and "worksite-b" in units and not RoutingRule.objects.exists():
            RoutingRule.objects.create(rule_family="", state="", unit=units["worksite-a"])
            RoutingRule.objects.create(rule_family="employer", state="", unit=units["worksite-b"])
