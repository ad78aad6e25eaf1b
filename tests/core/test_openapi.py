"""Every operation of the OpenAPI schema documents the errors it answers, in the one error format."""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import status_code_conformance

from core.openapi import error_statuses
from tests.fuzz.apifuzz import in_process_requests, served_schema

pytestmark = pytest.mark.django_db


def test_every_operation_documents_401_403_and_its_other_errors():
    with in_process_requests():
        schema = served_schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        responses = operation.definition.raw["responses"]
        expected = error_statuses(
            operation.path, operation.method.lower(), operation.definition.raw
        )
        assert {"401", "403"} <= set(expected)
        for status in expected:
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Error"}, (operation.label, status)
        if "{" in operation.path:
            assert "404" in responses, operation.label
        if operation.method.upper() == "POST":
            assert {"400", "409"} <= set(responses), operation.label
    # A read that can answer 409 says so: a notice the case has not reached (found by `make fuzz`).
    notice = schema["/api/v1/cases/{id}/notices/{kind}.pdf"]["GET"].definition.raw
    assert {"400", "404", "409"} <= set(notice["responses"])


@pytest.mark.parametrize(
    ("path", "method", "kwargs", "status"),
    [
        ("/api/v1/cases/", "GET", {}, 401),  # no key
        ("/api/v1/cases/{id}/", "GET", {"path_parameters": {"id": "12"}}, 401),
        ("/api/privacy/agreements/", "GET", {}, 403),  # no session
        ("/api/privacy/break-glass/", "POST", {"body": {}, "media_type": "application/json"}, 403),
    ],
)
def test_real_error_answers_match_the_documented_ones(path, method, kwargs, status):
    with in_process_requests():
        operation = served_schema()[path][method]
        case = operation.Case(**kwargs)
        response = case.call()
    assert response.status_code == status
    case.validate_response(response, checks=[status_code_conformance])  # was undocumented
    operation.validate_response(response)  # and the body is the Error component
    assert set(response.json()["error"]) >= {"code", "message"}
