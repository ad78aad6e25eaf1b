"""Ids in URLs and query strings that Python calls digits but `int` refuses ("²") or reads in
another script ("١٢"): each was a 500 somewhere; now the same 404 (or 400) as any unknown id."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

ODD = ["%C2%B2", "%D9%A1%D9%A2", "%EF%BC%94%EF%BC%92", "99999999999999999999"]


@pytest.mark.parametrize("odd", ODD)
def test_the_api_answers_404(api_client_for, employer, odd):
    client = api_client_for(employer)
    for method, path in (
        ("get", "cases/{}/"),
        ("post", "cases/{}/resubmit/"),
        ("get", "imports/{}/"),
        ("get", "webhooks/subscriptions/{}/"),
    ):
        response = getattr(client, method)("/api/v1/" + path.format(odd), format="json")
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("odd", ODD)
def test_the_portal_answers_404(ulla, erin, employer, odd):
    e = employer.pk
    user, admin = (sign_in(Client(), person, verify=True) for person in (ulla, erin))
    for client, method, path in (
        (user, "get", f"/employer/{odd}/cases/"),
        (user, "get", f"/employer/{e}/cases/{odd}/"),
        (user, "get", f"/employer/{e}/imports/{odd}/"),
        (admin, "post", f"/employer/{e}/admin/access/{odd}/revoke/"),
        (admin, "post", f"/employer/{e}/admin/keys/{odd}/rotate/"),
        (admin, "post", f"/employer/{e}/admin/keys/{odd}/revoke/"),
    ):
        assert getattr(client, method)(path).status_code == 404, path


@pytest.mark.parametrize("odd", ["%C2%B2", "%D9%A1"])
def test_the_queue_filters_say_so_in_the_page_or_search_by_name(sam, odd):
    client = sign_in(Client(), sam, verify=True)
    refused = client.get(f"/cases/?assignee={odd}")  # the form's error, in the page
    assert refused.status_code == 200
    assert "Choose me, nobody or a colleague." in refused.content.decode()
    assert client.get(f"/cases/?employer={odd}").status_code == 200  # a name search
    assert client.get(f"/cases/export.csv?employer={odd}").status_code in (200, 403)


def test_an_import_rows_hiring_site_in_another_script_is_a_row_error():
    from verification.imports.reading import INTEGER_MESSAGE, typed

    _data, errors = typed({"hiring_site": "²"})
    assert errors["hiring_site"] == [INTEGER_MESSAGE]
    data, errors = typed({"hiring_site": " 12 "})
    assert data["hiring_site"] == 12
    assert "hiring_site" not in errors
