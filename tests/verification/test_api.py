"""The employer API: auth, scoping, idempotency and every error path, in the one error format."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.verification.conftest import i9
from verification import services
from verification.models import VerificationCase, Worker

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = i9(**overrides)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def assert_error(response, status, code, fields=()):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    for field in fields:
        assert field in error["fields"], error
    return error


@pytest.fixture
def client(api_key):
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw}")
    return c


def post_case(client, key="k1", **overrides):
    return client.post("/api/v1/cases/", body(**overrides), format="json", HTTP_IDEMPOTENCY_KEY=key)


# --- Authentication ----------------------------------------------------------------------------


def test_anonymous_is_401_in_the_error_format():
    response = APIClient().get("/api/v1/cases/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer ccv1_nope", "Bearer ", "Bearer a b", "Bearer \u00e9t\u00e9", "Bearer " + "x" * 500],
)
def test_a_wrong_key_is_401_and_audited(header):
    response = APIClient().get("/api/v1/cases/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("authentication_failed", "not_authenticated")


def test_a_wrong_key_is_recorded_as_denied():
    APIClient().get("/api/v1/cases/", HTTP_AUTHORIZATION="Bearer ccv1_wrongwrongwrong")
    assert AuditEvent.objects.filter(action="apikey.rejected", outcome="denied").exists()


def test_a_revoked_key_stops_at_once(client, api_key, adam):
    assert client.get("/api/v1/cases/").status_code == 200
    services.apikey_revoke(actor=adam, key=api_key)
    assert client.get("/api/v1/cases/").status_code == 401


def test_an_expired_key_is_refused(client, api_key):
    type(api_key).objects.filter(pk=api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/api/v1/cases/").status_code == 401


def test_a_rotated_key_works_during_the_grace_period_and_the_new_one_at_once(
    client, api_key, adam, settings
):
    _, raw = services.apikey_rotate(actor=adam, key=api_key)
    assert client.get("/api/v1/cases/").status_code == 200
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get("/api/v1/cases/").status_code == 200
    api_key.refresh_from_db()
    assert api_key.expires_at <= timezone.now() + timedelta(
        hours=settings.VERIFICATION_API_KEY_ROTATION_GRACE_HOURS
    )


def test_the_key_is_stored_only_as_its_sha256(api_key):
    import hashlib

    api_key.refresh_from_db()
    assert api_key.key_hash == hashlib.sha256(api_key.raw.encode()).hexdigest()
    assert api_key.raw not in str(type(api_key).objects.filter(pk=api_key.pk).values().first())


def test_a_signed_in_user_session_does_not_open_the_employer_api(login, sam):
    assert login(sam).get("/api/v1/cases/").status_code in (401, 403)


def test_a_suspended_employer_key_is_refused(client, api_key, adam):
    services.employer_status_set(actor=adam, employer=api_key.employer, status="suspended")
    assert client.get("/api/v1/cases/").status_code == 401


# --- Submit and idempotency -------------------------------------------------------------------------


def test_submit_returns_the_instant_result_with_masked_identifiers(client, ssa):
    response = post_case(client)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "closed"
    assert data["result"] == "employment_authorized"
    assert data["ssn"] == "•••4390"
    assert "521874390" not in response.content.decode()


def test_a_mismatch_says_which_source_and_field_without_reference_values(client, ssa):
    data = post_case(client, first_name="John", last_name="Smith").json()
    assert data["status"] == "tentative_nonconfirmation"
    assert {"source": "ssa", "field": "last_name"} in data["mismatches"]
    assert "Garcia" not in str(data["mismatches"])


def test_a_retried_submit_never_creates_a_second_case(client, ssa, api_key):
    first = post_case(client, key="retry-1")
    second = post_case(client, key="retry-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert VerificationCase.objects.filter(employer=api_key.employer).count() == 1


def test_a_submit_costs_a_fixed_number_of_queries(client, ssa, django_assert_max_num_queries):
    post_case(client, key="warm-up")
    # The key look-up; claiming the Idempotency-Key with the worker upsert (which also takes
    # the case id, and sets the row history's writer context in the same round trip); case id
    # and duplicate look-ups with the SSN's Numident record; the case with its comparisons and
    # its audit event; and the savepoint pair of the test's own transaction. (Every comparison
    # is exact, so no identity rule runs: no findings to write.)
    with django_assert_max_num_queries(6):
        response = post_case(client, key="counted", duplicate_reason="rehire")
    assert response.status_code == 201, response.content


def test_a_replay_does_not_validate_again(client, ssa):
    first = post_case(client, key="replay-later")
    # The body is the same; the case it created now makes it a duplicate, which a replay ignores.
    second = post_case(client, key="replay-later")
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_a_409(client, ssa):
    post_case(client, key="retry-2")
    assert_error(
        post_case(client, key="retry-2", first_name="Other"), 409, "conflict", ["Idempotency-Key"]
    )


def test_a_used_key_with_an_invalid_body_is_still_a_409(client, ssa):
    post_case(client, key="retry-4")
    assert_error(post_case(client, key="retry-4", ssn="bad"), 409, "conflict", ["Idempotency-Key"])


def test_a_replay_writes_no_worker(client, ssa, api_key):
    post_case(client, key="replay-worker")
    workers = list(Worker.objects.filter(employer=api_key.employer).values_list("id", "updated_at"))
    assert post_case(client, key="replay-worker").status_code == 201
    after = list(Worker.objects.filter(employer=api_key.employer).values_list("id", "updated_at"))
    assert after == workers


def test_a_failed_submit_frees_its_idempotency_key(client, ssa):
    assert post_case(client, key="retry-3", ssn="bad").status_code == 400
    assert post_case(client, key="retry-3").status_code == 201


def test_submit_without_idempotency_key_is_a_400(client, ssa):
    response = client.post("/api/v1/cases/", body(), format="json")
    assert_error(response, 400, "invalid", ["Idempotency-Key"])


def test_idempotency_keys_are_per_employer(ssa, api_client_for, employer, other_employer):
    a = post_case(api_client_for(employer), key="shared")
    b = post_case(api_client_for(other_employer), key="shared")
    assert a.json()["id"] != b.json()["id"]


def test_a_draft_is_saved_then_submitted(client, ssa):
    draft = post_case(client, submit=False).json()
    assert draft["status"] == "draft"
    submitted = client.post(f"/api/v1/cases/{draft['id']}/submit/", format="json")
    assert submitted.json()["result"] == "employment_authorized"


# --- Field errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ssn": "000-12-3456"}, "ssn"),
        ({"ssn": "12345"}, "ssn"),
        ({"ssn": 123}, "ssn"),
        ({"first_name": "R2-D2"}, "first_name"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "Smith\x00"}, "last_name"),
        ({"date_of_birth": "1990-13-01"}, "date_of_birth"),
        ({"date_of_birth": "not a date"}, "date_of_birth"),
        ({"date_of_birth": (date.today() + timedelta(days=1)).isoformat()}, "date_of_birth"),
        ({"citizenship_status": "martian"}, "citizenship_status"),
        ({"document_type": "library_card"}, "document_type"),
        (
            {
                "citizenship_status": "permanent_resident",
                "document_type": "permanent_resident_card",
            },
            "a_number",
        ),
        ({"document_type": "employment_authorization"}, "document_type"),
        ({"a_number": "A12"}, "a_number"),
        ({"hiring_site": 999999}, "hiring_site"),
        ({"hiring_site": 10**30}, "hiring_site"),
        ({"employee_email": "nope"}, "employee_email"),
        ({"i9_completed_on": (date.today() + timedelta(days=3)).isoformat()}, "i9_completed_on"),
        ({"document_expires_on": None}, "document_expires_on"),
        ({"late_reason": "sleepy"}, "late_reason"),
        ({"employer_case_id": "x" * 65}, "employer_case_id"),
    ],
)
def test_bad_fields_are_400s_naming_the_field(client, ssa, overrides, field):
    response = post_case(client, key=f"bad-{field}-{hash(str(overrides))}", **overrides)
    error = assert_error(response, 400, "invalid", [field])
    assert "521874390" not in str(error)


def test_malformed_json_is_a_400(client):
    response = client.generic(
        "POST",
        "/api/v1/cases/",
        "{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert_error(response, 400, "parse_error")


def test_a_json_list_is_a_400(client):
    response = client.post("/api/v1/cases/", [1, 2], format="json", HTTP_IDEMPOTENCY_KEY="x")
    assert response.status_code == 400


def test_a_duplicate_is_a_400_asking_for_a_reason(client, ssa):
    post_case(client, key="d1")
    assert_error(post_case(client, key="d2"), 400, "invalid", ["duplicate_reason"])
    assert post_case(client, key="d3", duplicate_reason="rehire").status_code == 201


# --- Scoping and reads ----------------------------------------------------------------------------


def test_another_employers_case_is_a_404_like_a_missing_one(client, ssa, employer):
    theirs = services.case_create(actor=None, employer=employer, data=i9())
    for path in (
        f"/api/v1/cases/{theirs.pk}/",
        f"/api/v1/cases/{theirs.pk}/refer/",
        "/api/v1/cases/999999999/",
        "/api/v1/cases/abc/",
        f"/api/v1/cases/{10**30}/",
    ):
        method = (
            client.get
            if path.endswith(f"{theirs.pk}/") or "999" in path or "abc" in path or "000000" in path
            else client.post
        )
        assert_error(method(path, format="json"), 404, "not_found")


def test_the_list_shows_only_the_employers_cases(client, ssa, employer, api_key):
    services.case_create(actor=None, employer=employer, data=i9())
    mine = post_case(client).json()
    results = client.get("/api/v1/cases/").json()["results"]
    assert [r["id"] for r in results] == [mine["id"]]


def test_the_list_filters_by_status_dates_and_site(client, ssa, api_key, adam):
    site = services.site_add(actor=adam, employer=api_key.employer, name="Plant 2", state="TX")
    ea = post_case(client, key="a", hiring_site=site.pk).json()
    tnc = post_case(
        client,
        key="b",
        ssn="234-56-7890",
        first_name="John",
        last_name="Smith",
        date_of_birth="1985-11-03",
    ).json()
    ids = lambda q: [r["id"] for r in client.get(f"/api/v1/cases/{q}").json()["results"]]  # noqa: E731
    assert ids("?status=tentative_nonconfirmation") == [tnc["id"]]
    assert set(ids("?status=closed,tentative_nonconfirmation")) == {ea["id"], tnc["id"]}
    assert ids(f"?site={site.pk}") == [ea["id"]]
    today = date.today().isoformat()
    assert len(ids(f"?created_after={today}&created_before={today}")) == 2
    assert ids("?created_after=2099-01-01") == []


@pytest.mark.parametrize(
    "query",
    [
        "?status=bogus",
        "?created_after=yesterday",
        "?site=abc",
        "?page_size=100000",
        "?cursor=forged",
        "?employer_case_id=a%00b",
    ],
)
def test_bad_filters_are_400s(client, query):
    assert client.get(f"/api/v1/cases/{query}").status_code == 400


def test_answers_about_workers_are_never_stored_by_a_cache(client, ssa):
    submitted = post_case(client)
    listed = client.get("/api/v1/cases/")
    read = client.get(f"/api/v1/cases/{submitted.json()['id']}/")
    for response in (submitted, listed, read):
        assert "no-store" in response["Cache-Control"]


def test_reads_are_audited(client, ssa):
    case = post_case(client).json()
    client.get(f"/api/v1/cases/{case['id']}/")
    event = AuditEvent.objects.filter(action="vcase.viewed").latest("id")
    assert f"vcase:{case['id']}" in event.subjects
    assert event.api_key_id is not None


# --- Transitions ----------------------------------------------------------------------------------


def test_the_mismatch_workflow_over_the_api(client, ssa):
    case = post_case(client, first_name="John", last_name="Smith").json()
    url = f"/api/v1/cases/{case['id']}"
    assert_error(
        client.post(f"{url}/decision/", {"decision": "take_action"}, format="json"),
        400,
        "invalid",
        ["decision"],
    )
    assert client.post(f"{url}/notice/", {}, format="json").status_code == 200
    assert (
        client.post(f"{url}/decision/", {"decision": "take_action"}, format="json").status_code
        == 200
    )
    referred = client.post(f"{url}/refer/", format="json").json()
    assert referred["status"] == "referred"
    assert referred["contact_due_on"]


def test_an_illegal_transition_is_a_409(client, ssa):
    case = post_case(client).json()
    assert_error(
        client.post(f"/api/v1/cases/{case['id']}/refer/", format="json"), 409, "illegal_transition"
    )


def test_close_with_a_code_and_its_errors(client, ssa):
    case = post_case(client, first_name="John", last_name="Smith").json()
    url = f"/api/v1/cases/{case['id']}/close/"
    assert_error(client.post(url, {"code": "nonsense"}, format="json"), 400, "invalid", ["code"])
    assert_error(
        client.post(url, {"code": "ea_automatic"}, format="json"), 400, "invalid", ["code"]
    )
    assert_error(
        client.post(url, {"code": "other", "text": "SSN is 521-87-4390"}, format="json"),
        400,
        "invalid",
        ["text"],
    )
    assert_error(
        client.post(url, {"code": "terminated_after_fnc"}, format="json"), 409, "illegal_transition"
    )
    closed = client.post(url, {"code": "voluntarily_quit"}, format="json").json()
    assert closed["closure_code"] == "voluntarily_quit"


def test_unknown_paths_and_methods_answer_in_the_error_format(client):
    assert_error(client.get("/api/v1/nope/"), 404, "not_found")
    assert client.delete("/api/v1/cases/").status_code == 405


def test_the_schema_and_docs_are_served(client):
    schema = APIClient().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/cases/" in schema.content
    assert APIClient().get("/api/docs/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_with_one_key_make_one_case(api_key, ssa):
    import threading

    from django.db import connection as conn

    results = []

    def submit():
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw}")
        results.append(post_case(c, key="twin"))
        conn.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.json()["id"] for r in results}) == 1
    assert VerificationCase.objects.filter(employer=api_key.employer).count() == 1


def test_the_fast_output_equals_the_model_serializers(employer, ssa):
    from rest_framework import serializers

    from verification.api import CaseOutput

    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    assert dict(CaseOutput(case).data) == dict(
        serializers.ModelSerializer.to_representation(CaseOutput(case), case)
    )


def test_a_400_never_echoes_what_was_sent_in_the_wrong_field(client, ssa):
    response = post_case(
        client, citizenship_status="521-87-4390", document_type="ZQ4H81K27", first_name="A208461937"
    )
    error = assert_error(response, 400, "invalid", ["citizenship_status", "document_type"])
    body = response.content.decode()
    for sent in ("521-87-4390", "ZQ4H81K27", "A208461937", "208461937"):
        assert sent not in body
    assert "is not a valid choice" in error["fields"]["citizenship_status"][0]


@pytest.mark.parametrize(
    ("query", "accept", "status"),
    [
        ("?format=api", None, 404),  # the browsable API is not offered (it was a 500 for a key)
        ("?format=xml", None, 404),
        ("", "text/html", 406),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", 200),  # a browser's: JSON
    ],
)
def test_the_api_answers_json_whatever_format_is_asked(
    api_client_for, employer, query, accept, status
):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api_client_for(employer).get(f"/api/v1/cases/{query}", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if status != 200:
        assert response.json()["error"]["code"] in ("not_found", "not_acceptable")


@pytest.mark.parametrize(
    "path", ["/api/v1/cases/", "/api/v1/cases/batch", "/api/v1/webhooks/subscriptions/"]
)
def test_a_body_nested_too_deeply_is_a_parse_error(api_client_for, employer, path):
    """Python's JSON decoder recurses: 10,000 brackets were a RecursionError, a 500."""
    deep = b"[" * 10_000 + b"]" * 10_000
    response = api_client_for(employer).generic("POST", path, deep, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] in ("parse_error", "invalid")
    assert not VerificationCase.objects.exists()
