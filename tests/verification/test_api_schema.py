"""The employer API answers as its OpenAPI schema says (found by the schema fuzzer, tests/fuzz)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.apifuzz import in_process_requests, served_schema
from tests.verification.conftest import create

pytestmark = pytest.mark.django_db


def _call(path: str, method: str, key: Any, **kwargs: Any) -> tuple[Any, Any]:
    operation = served_schema()[path][method]
    case = operation.Case(headers={"Authorization": f"Bearer {key.raw}"}, **kwargs)
    return operation, case.call()


def test_the_case_list_is_a_page_of_cases_as_the_schema_says(api_key, ssa):
    create(api_key.employer)
    with in_process_requests():
        operation, response = _call("/api/v1/cases/", "GET", api_key)
    assert response.status_code == 200
    assert set(response.json()) == {"next", "previous", "results"}
    operation.validate_response(response)  # was documented as a bare array of cases


def test_a_case_without_late_reason_or_closure_matches_the_schema(api_key, ssa):
    case = create(api_key.employer, submit=False)  # a draft: no closure yet
    assert (case.late_reason, case.closure_code, case.result) == ("", "", "")
    with in_process_requests():
        operation, response = _call(
            "/api/v1/cases/{id}/", "GET", api_key, path_parameters={"id": str(case.pk)}
        )
    assert response.status_code == 200
    operation.validate_response(response)  # "" was outside the LateReason/ClosureCode enums


def test_the_list_and_the_detail_have_distinct_operation_ids():
    with in_process_requests():
        schema = served_schema()
    ids = [
        schema[path][method].definition.raw["operationId"]
        for path, method in (("/api/v1/cases/", "GET"), ("/api/v1/cases/{id}/", "GET"))
    ]
    assert ids == ["v1_cases_list", "v1_cases_retrieve"]
