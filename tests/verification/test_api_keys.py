"""The employer API's keys: scopes, the per-key rate limit (429 + Retry-After), batches, resubmission."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.verification.conftest import i9
from tests.verification.test_import import csv_bytes, people
from verification import services
from verification.imports.jobs import import_run
from verification.models import ImportJob, VerificationCase

pytestmark = pytest.mark.django_db


def body(**overrides):
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in i9(**overrides).items()}


def client_for(adam, employer, **kwargs):
    _, raw = services.apikey_issue(actor=adam, employer=employer, label="k", **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture(autouse=True)
def _clean_rate_counts():
    cache.clear()
    yield
    cache.clear()


def test_a_read_only_key_reads_but_cannot_submit_or_close(adam, employer, ssa):
    case = services.case_create(actor=None, employer=employer, data=i9())
    reader = client_for(adam, employer, scopes=["read"])
    assert reader.get("/api/v1/cases/").status_code == 200
    assert reader.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    refused = reader.post("/api/v1/cases/", body(), format="json", HTTP_IDEMPOTENCY_KEY="a")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    closing = reader.post(f"/api/v1/cases/{case.pk}/close/", {"code": "not_hired"}, format="json")
    assert closing.status_code == 403
    batch = reader.post("/api/v1/cases/batch", csv_bytes(people()), content_type="text/csv")
    assert batch.status_code == 403
    assert VerificationCase.objects.count() == 1
    assert not ImportJob.objects.exists()
    assert AuditEvent.objects.filter(action="apikey.scope_denied").count() == 3


def test_a_submit_only_key_cannot_read_cases(adam, employer, ssa):
    submitter = client_for(adam, employer, scopes=["submit"])
    created = submitter.post("/api/v1/cases/", body(), format="json", HTTP_IDEMPOTENCY_KEY="a")
    assert created.status_code == 201
    assert submitter.get(f"/api/v1/cases/{created.json()['id']}/").status_code == 403
    assert submitter.get("/api/v1/cases/").status_code == 403


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_are_not_slowed(
    adam, employer
):
    slow = client_for(adam, employer, rate_per_minute=3)
    other = client_for(adam, employer, rate_per_minute=3)
    assert [slow.get("/api/v1/cases/").status_code for _ in range(3)] == [200, 200, 200]
    refused = slow.get("/api/v1/cases/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert other.get("/api/v1/cases/").status_code == 200
    assert AuditEvent.objects.filter(action="apikey.throttled").count() == 1


def test_an_unknown_scope_or_a_silly_rate_is_refused_at_issue(adam, employer):
    with pytest.raises(Exception, match="scopes"):
        services.apikey_issue(actor=adam, employer=employer, label="k", scopes=["admin"])
    with pytest.raises(Exception, match="rate"):
        services.apikey_issue(actor=adam, employer=employer, label="k", rate_per_minute=-1)


def test_a_csv_batch_becomes_an_import_job_and_its_report_is_read_back(
    adam, employer, other_employer, ssa
):
    client = client_for(adam, employer)
    response = client.post(
        "/api/v1/cases/batch?mode=good_rows", csv_bytes(people()), content_type="text/csv"
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response["Location"] == f"/api/v1/imports/{job_id}/"
    import_run(job_id=job_id)  # what the worker does
    report = client.get(f"/api/v1/imports/{job_id}/").json()
    assert report["status"] == "done"
    assert report["rows_imported"] == 5
    assert report["errors"][0]["line"] == 6
    assert report["errors"][0]["field"] == "ssn"
    key = employer.api_keys.get()
    chunk_event = AuditEvent.objects.get(action="vimport.chunk_imported", object_id=str(job_id))
    assert chunk_event.api_key_id == key.pk  # the worker's trail names the key behind the batch
    assert len([s for s in chunk_event.subjects if s.startswith("vcase:")]) == 5
    assert client_for(adam, other_employer).get(f"/api/v1/imports/{job_id}/").status_code == 404


def test_a_batch_with_a_wrong_header_or_type_is_400_and_stages_nothing(adam, employer):
    client = client_for(adam, employer)
    bad_header = client.post("/api/v1/cases/batch", b"name,ssn\nx,1\n", content_type="text/csv")
    assert bad_header.status_code == 400
    assert "Line 1" in bad_header.json()["error"]["message"]
    wrong_type = client.post("/api/v1/cases/batch", b"{}", content_type="application/xml")
    assert wrong_type.status_code == 400
    assert not ImportJob.objects.exists()


def test_a_batch_over_the_size_cap_is_413(adam, employer, settings):
    settings.VERIFICATION_IMPORT_MAX_BYTES = 100
    response = client_for(adam, employer).post(
        "/api/v1/cases/batch", csv_bytes(people()), content_type="text/csv"
    )
    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_resubmitting_over_the_api_closes_the_old_case_and_links_the_new_one(adam, employer, ssa):
    client = client_for(adam, employer)
    old = client.post(
        "/api/v1/cases/",
        body(first_name="John", last_name="Smith"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="a",
    ).json()
    assert old["status"] == "tentative_nonconfirmation"
    new = client.post(
        f"/api/v1/cases/{old['id']}/resubmit/", body(), format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    assert new.status_code == 201, new.content
    created = VerificationCase.objects.get(pk=new.json()["id"])
    assert created.resubmission_of_id == old["id"]
    assert created.duplicate_reason == "incorrect_data"
    closed = VerificationCase.objects.get(pk=old["id"])
    assert closed.status == "closed"
    assert closed.closure_code == "info_not_correct"
    again = client.post(
        f"/api/v1/cases/{old['id']}/resubmit/", body(), format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    assert again.json()["id"] == created.pk  # a retry is the same case


def test_a_refused_resubmission_leaves_the_old_case_open(adam, employer, ssa):
    client = client_for(adam, employer)
    old = client.post(
        "/api/v1/cases/",
        body(first_name="John", last_name="Smith"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="a",
    ).json()
    bad = client.post(
        f"/api/v1/cases/{old['id']}/resubmit/", body(ssn="000-12-3456"), format="json"
    )
    assert bad.status_code == 400
    assert "ssn" in bad.json()["error"]["fields"]
    assert VerificationCase.objects.get(pk=old["id"]).status == "tentative_nonconfirmation"


def test_a_key_can_ask_what_it_is_whatever_its_scopes(adam, employer):
    """GET /api/v1/key/: the key's own employer, scopes and limit; nothing of any worker."""
    submitter = client_for(adam, employer, scopes=["submit"], rate_per_minute=90)
    answer = submitter.get("/api/v1/key/")
    assert answer.status_code == 200
    facts = answer.json()
    assert facts["employer"] == employer.pk
    assert facts["scopes"] == ["submit"]
    assert facts["rate_per_minute"] == 90
    assert set(facts) == {
        "employer",
        "employer_name",
        "label",
        "prefix",
        "scopes",
        "rate_per_minute",
        "expires_at",
    }
    assert APIClient().get("/api/v1/key/").status_code == 401
    key = employer.api_keys.get()
    services.apikey_revoke(actor=adam, key=key)
    assert submitter.get("/api/v1/key/").status_code == 401
