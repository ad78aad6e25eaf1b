"""A NUL in a query string is a 400 before any view reads it (it was a 500 where a filter reached
PostgreSQL, which cannot hold one in a string)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["q=%00", "q=Ann%00a", "page=1&agency=%00x", "%00=1"])
def test_a_page_refuses_a_nul_in_its_query_string(adam, query):
    client = sign_in(Client(), adam, verify=True)
    assert client.get("/privacy/users/?q=Ann").status_code == 200
    response = client.get(f"/privacy/users/?{query}")
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_the_api_refuses_it_in_its_error_format(api_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw}")
    assert client.get("/api/v1/cases/?status=closed").status_code == 200
    response = client.get("/api/v1/cases/?status=clo%00sed")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "The query string holds a NUL character.",
        "fields": {"status": ["NUL is not allowed."]},
    }
