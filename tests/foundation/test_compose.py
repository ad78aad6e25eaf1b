"""docker-compose.yml cannot run here (no Docker engine), so check it agrees with the code."""

import importlib
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _command(service):
    command = SERVICES[service]["command"]
    return command if isinstance(command, list) else shlex.split(command)


def test_it_has_the_production_like_services_with_healthchecks():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in SERVICES[name], name
        assert SERVICES[name]["healthcheck"]["test"], name


def test_data_lives_in_named_volumes():
    declared = set(COMPOSE["volumes"])
    assert {"pgdata", "redisdata"} <= declared
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            name = volume.split(":")[0]
            assert name in declared, f"{name} is a bind mount or undeclared volume"


def test_app_services_use_the_production_settings_and_an_env_file():
    for name in ("web", "worker", "beat"):
        service = SERVICES[name]
        assert service["env_file"] == ".env"
        module = service["environment"]["DJANGO_SETTINGS_MODULE"]
        assert module == "config.settings.production"
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    assert (ROOT / ".env.example").exists()


def test_web_runs_gunicorn_on_the_wsgi_application_of_the_code():
    command = _command("web")
    assert command[0] == "gunicorn"
    module, attribute = command[1].split(":")
    assert module == "config.wsgi"
    assert attribute == "application"
    assert (ROOT / "config" / "wsgi.py").read_text().count("application =") == 1


def test_worker_and_beat_run_the_celery_app_of_the_code():
    from config.celery import app

    for name, sub in (("worker", "worker"), ("beat", "beat")):
        command = _command(name)
        assert command[:3] == ["celery", "-A", "config"]
        assert command[3] == sub
    worker = _command("worker")
    queues = worker[worker.index("-Q") + 1].split(",")
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= set(queues)
    assert app.main == "crosscheck"


def test_the_healthcheck_url_exists():
    from django.urls import resolve

    assert resolve("/healthz").url_name == "healthz"


def test_every_env_variable_the_settings_read_is_documented():
    import re

    names = set()
    for path in (ROOT / "config").rglob("*.py"):
        names |= set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z0-9_]+)"', path.read_text()))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if n not in readme)
    assert not missing, f"README does not document: {missing}"
    importlib.import_module("config.settings.base")
