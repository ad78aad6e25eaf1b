"""Production refuses to start with DEBUG on, the default secret key, or missing keys."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 64,
    "CROSSCHECK_DATA_KEYS": "k1:" + "A" * 43 + "=",
    "CROSSCHECK_BLIND_INDEX_KEY": "b" * 32,
    "CROSSCHECK_AUDIT_HMAC_KEY": "c" * 32,
    "DJANGO_DEBUG": "0",
}


def _start(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CROSSCHECK_"))}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_starts_with_real_settings():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_DEBUG": "1"}, "DEBUG must be off"),
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({"CROSSCHECK_DATA_KEYS": None}, "CROSSCHECK_DATA_KEYS"),
        ({"CROSSCHECK_BLIND_INDEX_KEY": None}, "CROSSCHECK_BLIND_INDEX_KEY"),
        ({"CROSSCHECK_AUDIT_HMAC_KEY": None}, "CROSSCHECK_AUDIT_HMAC_KEY"),
    ],
)
def test_it_refuses_to_start_when_unsafe(overrides, message):
    result = _start(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
