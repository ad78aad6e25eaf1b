import pytest
from django.core.cache import cache

from core.queues import CACHE_KEY
from core.tasks import HEARTBEAT_KEY
from tests.workers import celery_worker, stop_worker, wait_until

pytestmark = pytest.mark.django_db


def _health(client):
    """/healthz with the queue consumers asked afresh (the answer is cached for a few seconds)."""
    cache.delete(CACHE_KEY)
    return client.get("/healthz").json()


def test_it_reports_database_redis_and_a_stale_worker_when_no_heartbeat(client):
    cache.delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = _health(client)
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"] == "stale"
    assert body["status"] == "degraded"
    assert body["queues"] == {"interactive": 0, "batch": 0}
    assert body["queues_without_consumer"] == ["interactive", "batch"]


@pytest.mark.worker
@pytest.mark.slow
def test_a_worker_started_the_obvious_way_leaves_batch_without_consumer(client):
    """`celery -A config worker` consumes the default queue only: /healthz names `batch`."""
    worker = celery_worker(None, "healthz-default")
    try:
        wait_until(lambda: _health(client)["worker"] == "ok", 60, "the worker's heartbeat")
        wait_until(lambda: _health(client)["queues"]["interactive"] == 1, 30, "its queues")
        body = _health(client)
    finally:
        stop_worker(worker)
    assert body["queues"]["batch"] == 0
    assert body["queues_without_consumer"] == ["batch"]
    assert body["status"] == "degraded"


@pytest.mark.worker
@pytest.mark.slow
def test_it_is_ok_with_a_live_worker_on_every_queue(client):
    worker = celery_worker("interactive,batch", "healthz-all")
    try:
        wait_until(lambda: _health(client)["status"] == "ok", 60, "a healthy stack")
        body = _health(client)
    finally:
        stop_worker(worker)
    assert body["worker"] == "ok"
    assert body["queues"] == {"interactive": 1, "batch": 1}
    assert body["queues_without_consumer"] == []
