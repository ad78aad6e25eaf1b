"""The one role guard: screens and API ask the same question, and a refusal is recorded."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from audit.guards import HasRole, holds_role
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_refused_page_is_a_recorded_403(login, alice):
    response = login(alice).get("/crossref/runs/")
    assert response.status_code == 403
    [event] = AuditEvent.objects.filter(action="access.denied", actor_id=alice.pk)
    assert event.detail["path"] == "/crossref/runs/"
    assert event.detail["needs"] == ["admin", "supervisor"]


def test_a_permitted_role_passes_without_a_refusal(login, sam):
    assert login(sam).get("/crossref/runs/").status_code == 200
    assert not AuditEvent.objects.filter(action="access.denied", actor_id=sam.pk).exists()


def test_the_api_permission_asks_the_same_question(alice, sam):
    class View:
        roles = ("supervisor",)

    request = RequestFactory().get("/")
    for user in (alice, sam):
        request.user = user
        assert HasRole().has_permission(request, View()) == holds_role(user, View.roles)
    assert holds_role(sam, ["supervisor"])
    assert not holds_role(alice, ["supervisor"])
    assert not holds_role(None, ["supervisor"])
