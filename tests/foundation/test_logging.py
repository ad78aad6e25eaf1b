import json
import logging

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
def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced(client):
    good = client.get("/healthz", HTTP_X_REQUEST_ID="abc-12345678")
    assert good["X-Request-ID"] == "abc-12345678"
    bad = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert bad["X-Request-ID"] != "<script>"
    assert len(bad["X-Request-ID"]) == 32
