"""The access policy behind every `visible_to`: role x agreement scope x validity.

What a user may do with a category of data is decided here, at each request:

- over the home agency's own data, by the user's home roles (`User.roles`) and valid home grants;
- over another agency's data, only by a valid grant tied to an agreement that is active, inside
  its dates, names the user's agency as recipient and the owner as source, and whose scope covers
  the category and action; the grant's role must allow the action too.

Nothing here is cached past one request (the middleware opens a request scope), so an agreement
that expires or is suspended cuts access at the next request. `decide_from` is the pure core,
which the property-based tests check against a reference model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from privacy.categories import Action as Action
from privacy.categories import DataCategory as DataCategory
from privacy.models import Agency

_ALL: set[str] = set(Action.values)
_READ: set[str] = {Action.VIEW, Action.SEARCH, Action.EXPORT}
_WORK: set[str] = _READ | {Action.CHANGE}

# What each role may do, in principle, with each category (at home, or under an agreement's scope).
ROLE_ACTIONS: dict[str, dict[str, set[str]]] = {
    "analyst": {c: _WORK | {Action.RECEIVE_HANDOFF} for c in DataCategory.values},
    "supervisor": dict.fromkeys(DataCategory.values, _ALL),
    "admin": {
        DataCategory.EMPLOYER_DATA: _WORK | {Action.RUN_MATCHING},
        DataCategory.VERIFICATION_CASES: {Action.VIEW, Action.RUN_MATCHING},
        DataCategory.SSA_IDENTITY: {Action.RUN_MATCHING},
        DataCategory.DHS_IMMIGRATION: {Action.RUN_MATCHING},
        DataCategory.ENFORCEMENT: {Action.RUN_MATCHING},
    },
    "auditor": {},  # audit trails and reports only; no personal data through case screens
    "status_verifier": {
        DataCategory.VERIFICATION_CASES: _WORK,
        DataCategory.SSA_IDENTITY: _WORK,
        DataCategory.DHS_IMMIGRATION: _WORK,
    },
    # The employer portal's people reach no category through the policy (no reference record, no
    # analyst screen); their own employers' cases only, through verification's EmployerAccess.
    "employer_admin": {},
    "employer_user": {},
}

T = TypeVar("T")


def role_allows(role: str, category: str, action: str) -> bool:
    """True if `role` may, in principle, do `action` on `category`."""
    return action in ROLE_ACTIONS.get(role, {}).get(category, set())


def category_owner_code(category: str) -> str | None:
    """The code of the agency that owns a category of data (a setting); None if owned per row."""
    return settings.CROSSCHECK_CATEGORY_OWNERS.get(category)


@dataclass(frozen=True)
class Decision:
    """The answer of the policy for one user, action and category (and owner agency)."""

    allowed: bool
    basis: str = (
        ""  # "home"; or the disclosure basis under an agreement: "b1", "b3", "b7", "b11", "consent"
    )
    agreement_id: int | None = None
    owner_agency_id: int | None = None
    accountable: bool = False  # a disclosure across departments, for the accounting (552a(c))
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


# --- The pure core ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantFacts:
    """What `decide_from` needs of one grant and its agreement (None for a home grant)."""

    role: str
    valid_from: date
    valid_until: date | None = None
    ended: bool = False  # revoked or lapsed
    agreement_id: int | None = None
    agreement_active: bool = False  # status is ACTIVE
    agreement_effective_on: date | None = None
    agreement_expires_on: date | None = None
    source_agency_id: int | None = None
    recipient_agency_id: int | None = None
    scope: Mapping[str, Iterable[str]] = field(default_factory=dict)
    disclosure_basis: str = "b3"

    def valid_on(self, on: date) -> bool:
        """Not ended, inside its own window and, under an agreement, inside the agreement's."""
        if (
            self.ended
            or self.valid_from > on
            or (self.valid_until is not None and self.valid_until < on)
        ):
            return False
        if self.agreement_id is None:
            return True
        return bool(
            self.agreement_active
            and self.agreement_effective_on is not None
            and self.agreement_expires_on is not None
            and self.agreement_effective_on <= on <= self.agreement_expires_on
        )


@dataclass(frozen=True)
class UserFacts:
    """What `decide_from` needs of a user."""

    active: bool
    agency_id: int | None
    department_id: int | None
    roles: tuple[str, ...] = ()
    grants: tuple[GrantFacts, ...] = ()


def decide_from(
    facts: UserFacts,
    *,
    action: str,
    category: str,
    owner_agency_id: int | None,
    owner_department_id: int | None,
    on: date,
) -> Decision:
    """The policy as a pure function of the facts (no database)."""
    if not facts.active:
        return Decision(False, owner_agency_id=owner_agency_id, reason="not signed in")
    if owner_agency_id is None:
        return Decision(False, reason="no owner for this data")
    if owner_agency_id == facts.agency_id:
        home_roles = set(facts.roles) | {
            g.role for g in facts.grants if g.agreement_id is None and g.valid_on(on)
        }
        if any(role_allows(r, category, action) for r in sorted(home_roles)):
            return Decision(True, basis="home", owner_agency_id=owner_agency_id)
        return Decision(False, owner_agency_id=owner_agency_id, reason="no home role allows this")
    candidates = [
        g
        for g in facts.grants
        if g.agreement_id is not None
        and g.source_agency_id == owner_agency_id
        and g.recipient_agency_id == facts.agency_id
        and action in set(g.scope.get(category, ()))
        and role_allows(g.role, category, action)
    ]
    in_force = sorted((g for g in candidates if g.valid_on(on)), key=lambda g: g.agreement_id or 0)
    if not in_force:
        reason = (
            "the agreement is not in force" if candidates else "no role or agreement covers this"
        )
        return Decision(False, owner_agency_id=owner_agency_id, reason=reason)
    grant = in_force[0]
    same_department = owner_department_id is not None and owner_department_id == facts.department_id
    return Decision(
        True,
        basis="b1" if same_department else grant.disclosure_basis,
        agreement_id=grant.agreement_id,
        owner_agency_id=owner_agency_id,
        accountable=not same_department,
    )


# --- Facts from the database, cached for one request at most --------------------------------

_request_cache: ContextVar[dict[Any, Any] | None] = ContextVar("privacy_policy_cache", default=None)


@contextmanager
def request_scope() -> Iterator[None]:
    """Cache policy facts for the length of one request or task, never longer."""
    token = _request_cache.set({})
    try:
        yield
    finally:
        _request_cache.reset(token)


def _cached(key: Any, load: Callable[[], T]) -> T:
    cache = _request_cache.get()
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cast(T, cache[key])


def forget() -> None:
    """Drop what this request cached (a service that changes grants calls it)."""
    cache = _request_cache.get()
    if cache is not None:
        cache.clear()


# Tables: privacy_agency, privacy_rolegrant, privacy_agreement (held to the ORM by tests/privacy).
_USER_FACTS_SQL = """
    SELECT (SELECT a.department_id FROM privacy_agency a WHERE a.id = %s),
           g.role, g.valid_from, g.valid_until, g.agreement_id, ag.status, ag.effective_on, ag.expires_on,
           ag.source_agency_id, ag.recipient_agency_id, ag.scope, ag.disclosure_basis
      FROM (SELECT 1) AS one
      LEFT JOIN (privacy_rolegrant g LEFT JOIN privacy_agreement ag ON ag.id = g.agreement_id)
        ON g.user_id = %s AND g.revoked_at IS NULL AND g.lapsed_at IS NULL
     ORDER BY g.id
"""


def user_facts(user: Any) -> UserFacts:
    """The facts about a user that the policy reads, from the database."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not getattr(user, "is_active", False)
    ):
        return UserFacts(active=False, agency_id=None, department_id=None)

    def load() -> UserFacts:
        # One fixed statement per request: the home agency's department and the user's open grants
        # with their agreements (a row of NULLs when there is none). Validity is judged in
        # `decide_from` against today, so nothing here outlives the request.
        with connection.cursor() as cursor:
            cursor.execute(_USER_FACTS_SQL, [user.agency_id, user.pk])
            rows = cursor.fetchall()
        department_id = rows[0][0] if user.agency_id else None
        if user.agency_id:
            cache = _request_cache.get()
            if cache is not None:
                cache.setdefault(("agency-dept", user.agency_id), department_id)
        grants = tuple(
            GrantFacts(
                role=role,
                valid_from=valid_from,
                valid_until=valid_until,
                ended=False,
                agreement_id=agreement_id,
                agreement_active=bool(agreement_id and status == "active"),
                agreement_effective_on=effective_on if agreement_id else None,
                agreement_expires_on=expires_on if agreement_id else None,
                source_agency_id=source_id if agreement_id else None,
                recipient_agency_id=recipient_id if agreement_id else None,
                scope=(json.loads(scope) if isinstance(scope, str | bytes) else scope)
                if agreement_id
                else {},
                disclosure_basis=basis if agreement_id else "b1",
            )
            for (
                _dept,
                role,
                valid_from,
                valid_until,
                agreement_id,
                status,
                effective_on,
                expires_on,
                source_id,
                recipient_id,
                scope,
                basis,
            ) in rows
            if role is not None
        )
        return UserFacts(
            active=True,
            agency_id=user.agency_id,
            department_id=department_id,
            roles=tuple(user.roles or ()),
            grants=grants,
        )

    return _cached(("user", user.pk), load)


_AGENCY_BY_CODE_SQL = f'SELECT id FROM "{Agency._meta.db_table}" WHERE code = %s'  # noqa: S608  # nosec B608 # the model's own table name


def _agency_by_code(code: str) -> int | None:
    # A fixed statement (the code is unique): the ORM's query build cost the queue page a
    # tenth of its time over the base page's.
    with connection.cursor() as cursor:
        cursor.execute(_AGENCY_BY_CODE_SQL, [code])
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _agency_id(code: str) -> int | None:
    return _cached(("agency-code", code), lambda: _agency_by_code(code))


def _department_of(agency_id: int) -> int | None:
    return _cached(
        ("agency-dept", agency_id),
        lambda: Agency.objects.filter(pk=agency_id).values_list("department_id", flat=True).first(),
    )


def owner_agency_id_for(user: Any, category: str, owner_agency: Any = None) -> int | None:
    """The owner of the data: the given agency, the category's configured owner, or the user's own."""
    if owner_agency is not None:
        owner_id = getattr(owner_agency, "pk", owner_agency)
        return int(owner_id) if owner_id is not None else None
    code = category_owner_code(category)
    if code:
        return _agency_id(code)
    return getattr(user, "agency_id", None)  # data owned per row: the caller names the owner


def decide(
    user: Any, *, action: str, category: str, owner_agency: Any = None, at: datetime | None = None
) -> Decision:
    """May `user` do `action` on `category` data owned by `owner_agency` (default: the category's owner)?"""
    facts = user_facts(user)
    if not facts.active:
        return Decision(False, reason="not signed in")
    owner_id = owner_agency_id_for(user, category, owner_agency)
    on = timezone.localdate(at) if at is not None else timezone.localdate()
    return decide_from(
        facts,
        action=action,
        category=category,
        owner_agency_id=owner_id,
        owner_department_id=_department_of(owner_id) if owner_id else None,
        on=on,
    )


def agreement_owner_ids(
    user: Any, *, action: str, category: str, at: datetime | None = None
) -> list[int]:
    """Other agencies whose `category` data `user` may `action` today through an agreement."""
    facts = user_facts(user)
    if not facts.active:
        return []
    on = timezone.localdate(at) if at is not None else timezone.localdate()
    owners = sorted(
        {
            g.source_agency_id
            for g in facts.grants
            if g.agreement_id is not None
            and g.source_agency_id is not None
            and g.source_agency_id != facts.agency_id
        }
    )
    return [
        o
        for o in owners
        if decide_from(
            facts,
            action=action,
            category=category,
            owner_agency_id=o,
            owner_department_id=_department_of(o),
            on=on,
        ).allowed
    ]


def allowed_owner_ids(
    user: Any, *, action: str, category: str, at: datetime | None = None
) -> list[int]:
    """Every agency whose `category` data `user` may `action`: the category's configured owner, or
    (for data owned per row) the home agency first, then those reached by agreement."""
    facts = user_facts(user)
    if not facts.active or facts.agency_id is None:
        return []
    on = timezone.localdate(at) if at is not None else timezone.localdate()
    # Asked several times per page with the same facts: answered once per request (a copy each time).
    return list(
        _cached(
            ("owners", user.pk, action, category, on),
            lambda: _allowed_owner_ids(user, facts, action, category, at),
        )
    )


def _allowed_owner_ids(
    user: Any, facts: UserFacts, action: str, category: str, at: datetime | None
) -> list[int]:
    code = category_owner_code(category)
    configured = _agency_id(code) if code else None
    if configured is not None:  # one owner for the whole category
        return (
            [configured]
            if decide(
                user, action=action, category=category, owner_agency=configured, at=at
            ).allowed
            else []
        )
    home = decide(
        user, action=action, category=category, owner_agency=facts.agency_id, at=at
    ).allowed
    own = [facts.agency_id] if home and facts.agency_id is not None else []
    return own + agreement_owner_ids(user, action=action, category=category, at=at)


# --- Field minimisation -----------------------------------------------------------------------


def categories_allowed(
    user: Any,
    categories: Iterable[str],
    *,
    action: str = "view",
    owners: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> frozenset[str]:
    """The categories among `categories` that `user` may do `action` on."""
    owners = owners or {}
    return frozenset(
        c
        for c in set(categories)
        if decide(user, action=action, category=c, owner_agency=owners.get(c), at=at).allowed
    )


def fields_allowed(
    field_categories: Mapping[str, str], allowed_categories: Iterable[str]
) -> frozenset[str]:
    """The fields whose category is among `allowed_categories` (the pure part of minimisation)."""
    allowed = set(allowed_categories)
    return frozenset(f for f, c in field_categories.items() if c in allowed)


def visible_fields(
    user: Any,
    field_categories: Mapping[str, str] | str,
    *,
    action: str = "view",
    owners: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> frozenset[str] | bool:
    """The fields (of a {field: category} map) whose category `user` may see.

    Called with a single category instead of a map, answers whether its fields are visible.
    """
    if isinstance(field_categories, str):
        return field_categories in categories_allowed(
            user, [field_categories], action=action, owners=owners, at=at
        )
    allowed = categories_allowed(
        user, field_categories.values(), action=action, owners=owners, at=at
    )
    return fields_allowed(field_categories, allowed)


def minimise(
    user: Any,
    data: Mapping[str, Any],
    field_categories: Mapping[str, str],
    *,
    default_category: str,
    action: str = "view",
    owners: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """`data` without the fields of categories `user` may not see: absent, not blank.

    A field missing from `field_categories` belongs to `default_category`.
    """
    categories = {k: field_categories.get(k, default_category) for k in data}
    allowed = categories_allowed(user, categories.values(), action=action, owners=owners, at=at)
    return {k: v for k, v in data.items() if categories[k] in allowed}


# --- Row scoping ------------------------------------------------------------------------------


def scope_queryset(
    queryset: Any,
    user: Any,
    *,
    action: str,
    category: str | None = None,
    category_field: str | None = None,
    owner_field: str | None = None,
    at: datetime | None = None,
) -> Any:
    """The rows of `queryset` that `user` may `action`: the building block of `visible_to`.

    Give either a fixed `category` or the `category_field` holding each row's category; give
    `owner_field` (an FK to Agency) when rows are owned per row, otherwise the category's
    configured owner applies to every row.
    """
    categories = [category] if category else list(DataCategory.values)
    condition = Q(pk__in=[])
    for c in categories:
        row_is_c = Q(**{category_field: c}) if category_field else Q()
        if owner_field:
            owners = allowed_owner_ids(user, action=action, category=c, at=at)
            if owners:
                condition |= row_is_c & Q(**{f"{owner_field}__in": owners})
        elif decide(user, action=action, category=c, at=at).allowed:
            condition |= row_is_c
    return queryset.filter(condition)
