import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.demo import PERSONAS
from privacy.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_one_user_per_persona_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert first == second  # same users, same TOTP secrets
    assert User.objects.count() == len(PERSONAS)
    roles = {r for u in User.objects.all() for r in u.roles}
    assert roles == {"analyst", "supervisor", "admin", "auditor", "status_verifier"}
    assert TOTPDevice.objects.filter(confirmed=True).count() == len(PERSONAS)
    assert "crosscheck-demo-2026" in first


def test_otp_code_prints_the_current_code():
    call_command("seed_demo")
    from io import StringIO

    out = StringIO()
    call_command("otp_code", "alice", stdout=out)
    device = TOTPDevice.objects.get(user__username="alice")
    assert out.getvalue().strip() == f"{totp(device.bin_key):06d}"


@override_settings(ALLOW_DEV_TOOLS=False)
def test_development_commands_are_refused_in_production():
    with pytest.raises(CommandError):
        call_command("seed_demo")
    with pytest.raises(CommandError):
        call_command("otp_code", "alice")
