"""The run screens: permission matrix, starting a run, the live progress fragment, cancel, quality."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from core.queues import CACHE_KEY, queue_consumers
from crossref import services
from crossref.models import Run
from tests.workers import celery_worker, stop_worker, wait_until

ROUTES = ["/crossref/runs/", "/crossref/quality/"]


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_sent_to_sign_in(db, route):
    response = Client().get(route)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 403), ("audrey", 403), ("vera", 403), ("sam", 200), ("adam", 200)],
)
def test_the_permission_matrix(request, login, route, persona, status):
    user = request.getfixturevalue(persona)
    assert login(user).get(route).status_code == status


def test_a_supervisor_starts_follows_and_cancels_a_run(world, matcher, login):
    client = login(matcher)
    response = client.post("/crossref/runs/", {"rules": ["SSA-NOTFOUND"], "employer_ids": ""})
    assert response.status_code == 302
    run = Run.objects.get()
    page = client.get(f"/crossref/runs/{run.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in body
    assert "<script>" not in body  # CSP: no inline script
    fragment = client.get(f"/crossref/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert b"Partitions done" in fragment.content
    assert client.post(f"/crossref/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert b"hx-trigger" not in client.get(f"/crossref/runs/{run.pk}/progress/").content


@pytest.mark.parametrize("ids", ["99999999999999999999", "1,\u00b2", "1e3", "1,-2"])
def test_employer_ids_that_are_no_ids_are_a_form_error_and_start_nothing(
    world, matcher, login, ids
):
    response = login(matcher).post(
        "/crossref/runs/", {"rules": ["SSA-NOTFOUND"], "employer_ids": ids}
    )
    assert response.status_code == 200
    assert b"Use employer ids separated by commas." in response.content
    assert not Run.objects.exists()


def test_a_refused_run_shows_why(world, sam, login):
    response = login(sam).post("/crossref/runs/", {"rules": ["SSA-IDENTITY"]})
    assert response.status_code == 200
    assert b"No active matching agreement covers" in response.content


def test_another_users_run_is_visible_to_supervisors_but_missing_runs_are_404(
    world, matcher, sam, login
):
    run = services.run_start(actor=matcher, rules=["EMP-FNC-KEPT"], enqueue=False)
    client = login(sam)
    assert client.get(f"/crossref/runs/{run.pk}/").status_code == 200
    assert client.get("/crossref/runs/999999/").status_code == 404


NO_CONSUMER = "No worker listens on queue <code>batch</code>"


def test_the_run_page_says_when_no_worker_listens_on_the_batch_queue(world, matcher, login):
    run = services.run_start(actor=matcher, rules=["EMP-FNC-KEPT"], enqueue=False)
    cache.delete(CACHE_KEY)  # asked afresh: no worker runs in this test
    client = login(matcher)
    assert NO_CONSUMER in client.get(f"/crossref/runs/{run.pk}/").content.decode()
    fragment = client.get(f"/crossref/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert NO_CONSUMER in fragment.content.decode()
    services.run_cancel(actor=matcher, run=run)
    assert NO_CONSUMER not in client.get(f"/crossref/runs/{run.pk}/").content.decode()


@pytest.mark.worker
@pytest.mark.slow
def test_the_run_page_says_nothing_of_the_kind_when_a_worker_listens(world, matcher, login):
    run = services.run_start(actor=matcher, rules=["EMP-FNC-KEPT"], enqueue=False)
    worker = celery_worker("interactive,batch", "xr-page")
    try:
        wait_until(lambda: (queue_consumers(fresh=True) or {}).get("batch"), 60, "the worker")
        body = login(matcher).get(f"/crossref/runs/{run.pk}/").content.decode()
    finally:
        stop_worker(worker)
    assert "Partitions done" in body
    assert NO_CONSUMER not in body


def test_a_supervisor_who_does_not_own_a_run_cannot_cancel_it(world, matcher, sam, login):
    run = services.run_start(actor=matcher, rules=["EMP-FNC-KEPT"], enqueue=False)
    response = login(sam).post(f"/crossref/runs/{run.pk}/cancel/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "running"
    assert run.cancelled_by is None
