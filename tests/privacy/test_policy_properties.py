"""Property-based tests of the access policy against a small reference model.

The reference model states the policy the way the issue does, as the set of (owner agency,
category, action) triples a user may use on a day:

- at home, whatever a home role (or a valid home grant) allows;
- elsewhere, role x active agreement scope x validity: a grant in its own window, under an
  agreement that is active, inside its dates, from that owner to the user's agency, whose scope
  names the category and action, and whose role allows the action.

Most examples check the pure `decide_from` and the field minimisation in memory (thousands a
second); a few hundred build the same world in PostgreSQL and go through `decide`,
`allowed_owner_ids`, `scope_queryset` and `minimise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy import policy
from privacy.models import EMPLOYER_ROLES
from privacy.policy import ROLE_ACTIONS, Action, DataCategory, GrantFacts, UserFacts, decide_from

CATEGORIES = list(DataCategory.values)
ACTIONS = list(Action.values)
# Agency roles: employer users belong to no agency (a database constraint), and the policy gives
# them no data category at all (tests/verification/test_portal.py).
ROLES = [r for r in ROLE_ACTIONS if r not in EMPLOYER_ROLES]
BASES = ["b3", "b7", "b11", "consent"]
STATUSES = ["draft", "approved", "active", "suspended", "expired", "terminated"]
DAY0 = date(2026, 6, 1)

# --- The world ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementSpec:
    source: int
    recipient: int
    status: str
    start: int
    length: int
    scope: dict[str, list[str]]
    basis: str


@dataclass(frozen=True)
class GrantSpec:
    role: str
    agreement: int | None  # index into the agreements, None for home
    start: int
    length: int | None
    ended: bool


@dataclass(frozen=True)
class World:
    departments: tuple[int, ...]  # department of each agency
    agreements: tuple[AgreementSpec, ...]
    user_agency: int
    user_active: bool
    roles: tuple[str, ...]
    grants: tuple[GrantSpec, ...]
    day: int


scopes = st.dictionaries(
    st.sampled_from(CATEGORIES),
    st.lists(st.sampled_from(ACTIONS), unique=True, max_size=4),
    max_size=4,
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_agencies = draw(st.integers(2, 4))
    departments = tuple(draw(st.integers(0, 1)) for _ in range(n_agencies))
    agreements = []
    for _ in range(draw(st.integers(0, 4))):
        source = draw(st.integers(0, n_agencies - 1))
        agreements.append(
            AgreementSpec(
                source=source,
                recipient=(source + draw(st.integers(1, n_agencies - 1))) % n_agencies,
                status=draw(st.sampled_from(STATUSES)),
                start=draw(st.integers(-40, 20)),
                length=draw(st.integers(0, 60)),
                scope=draw(scopes),
                basis=draw(st.sampled_from(BASES)),
            )
        )
    grants = tuple(
        GrantSpec(
            role=draw(st.sampled_from(ROLES)),
            agreement=draw(st.none() | st.integers(0, len(agreements) - 1)) if agreements else None,
            start=draw(st.integers(-40, 20)),
            length=draw(st.none() | st.integers(0, 60)),
            ended=draw(st.integers(0, 3)) == 0,
        )
        for _ in range(draw(st.integers(0, 4)))
    )
    return World(
        departments=departments,
        agreements=tuple(agreements),
        user_agency=draw(st.integers(0, n_agencies - 1)),
        user_active=draw(st.integers(0, 9)) > 0,
        roles=tuple(draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=2))),
        grants=grants,
        day=draw(st.integers(-30, 60)),
    )


def d(offset: int) -> date:
    return DAY0 + timedelta(days=offset)


# --- The reference model ----------------------------------------------------------------------


def permitted(world: World) -> dict[tuple[int, str, str], AgreementSpec | None]:
    """Every (owner, category, action) the user may use on the world's day, with the agreement used."""
    out: dict[tuple[int, str, str], AgreementSpec | None] = {}
    if not world.user_active:
        return out
    today = d(world.day)

    def grant_live(g: GrantSpec) -> bool:
        return (
            not g.ended
            and d(g.start) <= today
            and (g.length is None or today <= d(g.start + g.length))
        )

    home_roles = set(world.roles) | {
        g.role for g in world.grants if g.agreement is None and grant_live(g)
    }
    for role in home_roles:
        for category, actions in ROLE_ACTIONS[role].items():
            for action in actions:
                out[(world.user_agency, category, action)] = None
    for g in sorted(world.grants, key=lambda g: -1 if g.agreement is None else -g.agreement):
        if g.agreement is None or not grant_live(g):
            continue
        a = world.agreements[g.agreement]
        if a.status != "active" or not (d(a.start) <= today <= d(a.start + a.length)):
            continue
        if a.recipient != world.user_agency or a.source == world.user_agency:
            continue
        for category, actions in a.scope.items():
            for action in actions:
                if action in ROLE_ACTIONS[g.role].get(category, set()):
                    out[(a.source, category, action)] = a
    return out


# --- In memory --------------------------------------------------------------------------------


def facts_of(world: World) -> UserFacts:
    grants = []
    for g in world.grants:
        a = world.agreements[g.agreement] if g.agreement is not None else None
        grants.append(
            GrantFacts(
                role=g.role,
                valid_from=d(g.start),
                valid_until=None if g.length is None else d(g.start + g.length),
                ended=g.ended,
                agreement_id=None if g.agreement is None else g.agreement + 1,
                agreement_active=bool(a and a.status == "active"),
                agreement_effective_on=d(a.start) if a else None,
                agreement_expires_on=d(a.start + a.length) if a else None,
                source_agency_id=a.source if a else None,
                recipient_agency_id=a.recipient if a else None,
                scope=a.scope if a else {},
                disclosure_basis=a.basis if a else "b1",
            )
        )
    return UserFacts(
        active=world.user_active,
        agency_id=world.user_agency,
        department_id=world.departments[world.user_agency],
        roles=world.roles,
        grants=tuple(grants),
    )


field_maps = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3), st.sampled_from(CATEGORIES), max_size=8
)


@settings(max_examples=2000, deadline=None, database=None)
@given(world=worlds(), fields=field_maps, owner_shift=st.integers(0, 3))
def test_decide_and_minimisation_agree_with_the_reference_model(
    world: World, fields: dict[str, str], owner_shift: int
) -> None:
    model = permitted(world)
    facts = facts_of(world)
    n = len(world.departments)
    for owner in range(n):
        for category in CATEGORIES:
            for action in ACTIONS:
                decision = decide_from(
                    facts,
                    action=action,
                    category=category,
                    owner_agency_id=owner,
                    owner_department_id=world.departments[owner],
                    on=d(world.day),
                )
                assert decision.allowed == ((owner, category, action) in model), (
                    owner,
                    category,
                    action,
                )
                if not decision.allowed:
                    continue
                same_department = world.departments[owner] == world.departments[world.user_agency]
                if owner == world.user_agency:
                    assert decision.basis == "home"
                    assert not decision.accountable
                else:
                    assert decision.accountable == (not same_department)
                    assert decision.basis in ({"b1"} if same_department else set(BASES))
                    agreement = world.agreements[decision.agreement_id - 1]
                    assert (agreement.source, agreement.recipient) == (owner, world.user_agency)
    # field minimisation: each category owned by some agency; a field is shown iff its category is
    owner_of = {c: (i + owner_shift) % n for i, c in enumerate(CATEGORIES)}
    allowed = {
        c
        for c in CATEGORIES
        if decide_from(
            facts,
            action="view",
            category=c,
            owner_agency_id=owner_of[c],
            owner_department_id=world.departments[owner_of[c]],
            on=d(world.day),
        ).allowed
    }
    assert policy.fields_allowed(fields, allowed) == {
        f for f, c in fields.items() if (owner_of[c], c, "view") in model
    }


# --- Through PostgreSQL -----------------------------------------------------------------------


def _build(world: World):
    from privacy.models import Agency, Agreement, Department, Disclosure, RoleGrant
    from tests.factories import UnitFactory, UserFactory

    departments = [Department.objects.create(code=f"pd{i}", name=f"Dept {i}") for i in range(2)]
    agencies = [
        Agency.objects.create(code=f"pa{i}", name=f"Agency {i}", department=departments[dep])
        for i, dep in enumerate(world.departments)
    ]
    unit = UnitFactory(agency=agencies[world.user_agency], code="pu")
    user = UserFactory(
        username="prop-user",
        unit=unit,
        roles=list(world.roles),
        is_active=world.user_active,
        totp=False,
    )
    agreements = [
        Agreement.objects.create(
            reference=f"pr{i}",
            title="t",
            source_agency=agencies[a.source],
            recipient_agency=agencies[a.recipient],
            purpose="p",
            legal_authority="l",
            scope=a.scope,
            status=a.status,
            disclosure_basis=a.basis,
            effective_on=d(a.start),
            expires_on=d(a.start + a.length),
        )
        for i, a in enumerate(world.agreements)
    ]
    now = timezone.now()
    for g in world.grants:
        RoleGrant.objects.create(
            user=user,
            role=g.role,
            agreement=agreements[g.agreement] if g.agreement is not None else None,
            valid_from=d(g.start),
            valid_until=None if g.length is None else d(g.start + g.length),
            revoked_at=now if g.ended else None,
        )
    # one record of every category for every owner, to scope through the database
    Disclosure.objects.bulk_create(
        [
            Disclosure(
                occurred_at=now,
                nature="view",
                purpose="p",
                category=c,
                recipient_agency=agencies[0],
                recipient_agency_name="a",
                owner_agency=owner,
                basis="b3",
                accountable=True,
                record_type="rec",
                record_id=f"{owner.pk}-{c}",
                person_ref="x",
            )
            for owner in agencies
            for c in CATEGORIES
        ]
    )
    return user, agencies


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds(), action=st.sampled_from(ACTIONS))
def test_the_database_policy_agrees_with_the_reference_model(world: World, action: str) -> None:
    from privacy.models import Disclosure, User

    model = permitted(world)
    at = timezone.make_aware(datetime.combine(d(world.day), time(12)))
    try:
        with transaction.atomic(), policy.request_scope():  # cached as within one request
            user, agencies = _build(world)
            user = User.objects.get(pk=user.pk)
            index = {a.pk: i for i, a in enumerate(agencies)}
            for i, agency in enumerate(agencies):
                for category in CATEGORIES:
                    got = policy.decide(
                        user, action=action, category=category, owner_agency=agency, at=at
                    ).allowed
                    assert got == ((i, category, action) in model), (i, category, action)
            for category in CATEGORIES:
                owners = policy.allowed_owner_ids(user, action=action, category=category, at=at)
                assert {index[o] for o in owners} == {
                    i for (i, c, a) in model if c == category and a == action
                }
            rows = policy.scope_queryset(
                Disclosure.objects.all(),
                user,
                action=action,
                category_field="category",
                owner_field="owner_agency",
                at=at,
            )
            assert {(index[r.owner_agency_id], r.category) for r in rows} == {
                (i, c) for (i, c, a) in model if a == action
            }
            owners = {
                c: agencies[(n + world.user_agency) % len(agencies)]
                for n, c in enumerate(CATEGORIES)
            }
            record = {f"f_{c}": c for c in CATEGORIES}
            shown = policy.minimise(
                user,
                dict.fromkeys(record, "v"),
                record,
                default_category=CATEGORIES[0],
                owners=owners,
                at=at,
            )
            assert set(shown) == {
                f for f, c in record.items() if (index[owners[c].pk], c, "view") in model
            }
            raise _Rollback
    except _Rollback:
        pass
