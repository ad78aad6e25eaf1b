import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings


def test_logs_are_json_with_the_request_id():
    from logging.config import dictConfig

    from core.logging import request_id_var

    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    dictConfig(settings.LOGGING)
    handler = Capture()
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    handler.addFilter(logging.getLogger().handlers[0].filters[0])
    logger = logging.getLogger("crosscheck.test")
    logger.addHandler(handler)
    token = request_id_var.set("req-12345678")
    try:
        logger.warning("something happened")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = json.loads(records[0])
    assert line["message"] == "something happened"
    assert line["request_id"] == "req-12345678"
    assert line["level"] == "WARNING"
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db
def test_a_path_or_message_naming_an_ssn_or_a_number_is_logged_redacted(client):
    from logging.config import dictConfig

    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    dictConfig(settings.LOGGING)
    console = logging.getLogger().handlers[0]
    handler = Capture()
    handler.setFormatter(console.formatter)
    for f in console.filters:
        handler.addFilter(f)
    logging.getLogger().addHandler(handler)
    try:
        assert client.get("/nowhere/573-19-4826/").status_code == 404
        logging.getLogger("crosscheck.test").warning(
            "looked up %s and A%s", "573194826", "208461937"
        )
        try:
            raise ValueError("bad SSN 573 19 4826")
        except ValueError:
            logging.getLogger("crosscheck.test").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    text = "\n".join(records)
    for full in ("573-19-4826", "573194826", "573 19 4826", "208461937"):
        assert full not in text
    assert "Not Found: /nowhere/[redacted]/" in text
    assert "looked up [redacted] and [redacted]" in text
    assert "ValueError: bad SSN [redacted]" in text


@pytest.mark.django_db
def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced(client):
    good = client.get("/healthz", HTTP_X_REQUEST_ID="abc-12345678")
    assert good["X-Request-ID"] == "abc-12345678"
    bad = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert bad["X-Request-ID"] != "<script>"
    assert len(bad["X-Request-ID"]) == 32


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path, headers):
    for _ in range(100):  # the server may not listen yet
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            return response
        except ConnectionRefusedError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


@pytest.mark.slow
def test_gunicorn_logs_access_as_json_with_the_request_id_and_no_query_string():
    """The web server as docker-compose and `make run` start it, probed over HTTP."""
    from config.run import WEB
    from tests.foundation.test_compose import _command

    web = _command("web")
    assert web[: len(WEB)] == WEB
    port = _free_port()
    bind = web.index("--bind") + 1
    command = [*web[:bind], f"127.0.0.1:{port}", *web[bind + 1 :], "--workers", "1"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": settings.REDIS_URL,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    search = "/cases/?q=Nadia+Haddad&state=TX"
    try:
        first = _get(
            port,
            search,
            {"X-Request-ID": "probe-12345678", "Referer": f"http://127.0.0.1:{port}{search}"},
        )
        second = _get(port, "/nowhere/?q=Nadia+Haddad", {})
        third = _get(port, "/nowhere/573-19-4826/", {})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert first.status == 302
    assert second.status == 404
    assert third.status == 404
    assert "Haddad" not in output
    assert "573-19-4826" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "gunicorn.access"]
    # Each gunicorn worker writes its own lines: across workers they may come out of order.
    assert sorted((a["path"], a["status"]) for a in access) == [
        ("/cases/", 302),
        ("/nowhere/", 404),
        ("/nowhere/[redacted]/", 404),
    ]
    by_path = {a["path"]: a for a in access}
    assert by_path["/cases/"]["request_id"] == "probe-12345678"
    assert by_path["/nowhere/"]["request_id"] == second.getheader("X-Request-ID")
    not_found = [line["request_id"] for line in lines if line.get("logger") == "django.request"]
    assert second.getheader("X-Request-ID") in not_found


@pytest.mark.django_db
def test_a_refused_case_logs_its_warning_once(api_key, capsys, settings):
    """As `make run` logs (DEBUG on): Django's own console handler used to print it a second time."""
    from django.utils.log import configure_logging
    from rest_framework.test import APIClient

    settings.DEBUG = True
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)  # as django.setup() does
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw}")
        refused = client.post(
            "/api/v1/cases/", {"first_name": "Ana"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
        )
        err = capsys.readouterr().err
    finally:
        with capsys.disabled():
            configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    assert refused.status_code == 400
    lines = [line for line in err.splitlines() if "Bad Request: /api/v1/cases/" in line]
    assert len(lines) == 1, err
    assert json.loads(lines[0])["request_id"] == refused["X-Request-ID"]
