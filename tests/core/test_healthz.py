import pytest
from django.core.cache import cache

from core.tasks import HEARTBEAT_KEY, heartbeat

pytestmark = pytest.mark.django_db


def test_it_reports_database_redis_and_a_stale_worker_when_no_heartbeat(client):
    cache.delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"] == "stale"
    assert body["status"] == "degraded"


def test_it_is_ok_after_a_worker_heartbeat(client):
    heartbeat()
    body = client.get("/healthz").json()
    assert body["worker"] == "ok"
    assert body["status"] == "ok"
