"""Load the demo directory and print each persona's credentials (development only)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from privacy.demo import DEMO_PASSWORD, demo_directory_load


class Command(BaseCommand):
    help = "Load demo agencies, units and one user per persona, and print their credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "ALLOW_DEV_TOOLS", False):
            raise CommandError("seed_demo is for development only; production refuses it.")
        personas = demo_directory_load()
        self.stdout.write(self.style.SUCCESS(f"Demo users (password for all: {DEMO_PASSWORD})"))
        self.stdout.write(f"  {'username':<8} {'agency':<9} {'roles':<18} TOTP secret (base32)")
        for persona, secret in personas:
            self.stdout.write(
                f"  {persona.username:<8} {persona.agency:<9} {','.join(persona.roles):<18} {secret}"
            )
        self.stdout.write("Current code for a user: python manage.py otp_code USERNAME")
