"""The policy's per-request reads are fixed SQL: held here to the ORM reads they replace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from privacy import policy
from privacy.models import Agency, BreakGlassGrant, RoleGrant
from privacy.policy import GrantFacts, UserFacts
from privacy.selectors import break_glass_refs
from privacy.services import grant_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _orm_facts(user) -> UserFacts:
    """What `user_facts` read through the ORM before it became one statement."""
    department_id = (
        Agency.objects.filter(pk=user.agency_id).values_list("department_id", flat=True).first()
    )
    grants = tuple(
        GrantFacts(
            role=g.role,
            valid_from=g.valid_from,
            valid_until=g.valid_until,
            ended=bool(g.revoked_at or g.lapsed_at),
            agreement_id=g.agreement_id,
            agreement_active=bool(g.agreement_id and g.agreement.status == "active"),
            agreement_effective_on=g.agreement.effective_on if g.agreement_id else None,
            agreement_expires_on=g.agreement.expires_on if g.agreement_id else None,
            source_agency_id=g.agreement.source_agency_id if g.agreement_id else None,
            recipient_agency_id=g.agreement.recipient_agency_id if g.agreement_id else None,
            scope=g.agreement.scope if g.agreement_id else {},
            disclosure_basis=g.agreement.disclosure_basis if g.agreement_id else "b1",
        )
        for g in RoleGrant.objects.filter(
            user_id=user.pk, revoked_at__isnull=True, lapsed_at__isnull=True
        )
        .select_related("agreement")
        .order_by("id")
    )
    return UserFacts(
        active=True,
        agency_id=user.agency_id,
        department_id=department_id,
        roles=tuple(user.roles or ()),
        grants=grants,
    )


def test_user_facts_match_the_orm_for_home_partner_expired_and_revoked_grants(
    petra, eddie, alice, partner_agreements
):
    for user in (petra, eddie, alice):
        assert policy.user_facts(user) == _orm_facts(user)
    assert any(g.agreement_id and g.scope for g in policy.user_facts(petra).grants)
    before = len(policy.user_facts(petra).grants)
    grant = RoleGrant.objects.filter(user=petra, agreement__isnull=False).first()
    grant_revoke(actor=None, grant=grant, reason="test")
    facts = policy.user_facts(petra)
    assert len(facts.grants) == before - 1
    assert facts == _orm_facts(petra)


def test_user_facts_without_an_agency_or_grants():
    user = UserFactory(username="nobody-here", unit=None, agency=None, roles=[], is_superuser=True)
    assert (
        policy.user_facts(user)
        == _orm_facts(user)
        == UserFacts(active=True, agency_id=None, department_id=None)
    )


def test_user_facts_is_one_statement_per_request_and_fills_the_department(petra):
    with policy.request_scope(), CaptureQueriesContext(connection) as queries:
        facts = policy.user_facts(petra)
        policy.user_facts(petra)
        assert policy._department_of(petra.agency_id) == facts.department_id
        assert facts.department_id == Agency.objects.get(pk=petra.agency_id).department_id
    assert len(queries.captured_queries) == 2  # the facts, then the check above


def test_break_glass_refs_match_the_orm(alice):
    now = timezone.now()
    for ref, start, end in [
        ("case:1", -60, 3600),
        ("case:2", -7200, -60),
        ("case:3", 600, 3600),
        ("person:4", -1, 60),
    ]:
        BreakGlassGrant.objects.create(
            user=alice,
            subject_ref=ref,
            justification="test",
            started_at=now + timedelta(seconds=start),
            expires_at=now + timedelta(seconds=end),
        )
    expected = set(
        BreakGlassGrant.objects.active()
        .filter(user_id=alice.pk)
        .values_list("subject_ref", flat=True)
    )
    assert break_glass_refs(user=alice) == expected == {"case:1", "person:4"}


@pytest.mark.parametrize("code", ["ssa", "ice-hsi", "no-such-agency"])
def test_an_agency_by_code_matches_the_orm(directory, code):
    expected = Agency.objects.filter(code=code).values_list("pk", flat=True).first()
    assert policy._agency_by_code(code) == expected
