"""Which owning agencies' cases the policy lets a user act on, and the guardian grants of a case.

The owner agencies come from `privacy.policy.allowed_owner_ids` (home roles, then agreements),
so this module never re-implements the policy. It imports nothing of the cases models: the
models' `visible_to` is built on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q
from guardian.shortcuts import assign_perm, remove_perm

from core.ids import parse_id
from privacy.models import Role
from privacy.policy import Action, DataCategory, allowed_owner_ids
from privacy.selectors import break_glass_refs

CASE_PERMS = ("view_case", "change_case")


def _action(action: str) -> str:
    return action if action in Action.values else Action.VIEW


def allowed_agency_ids(user: Any, action: str = "view") -> list[int]:
    """Owner agencies whose investigations data `user` may `action` (home, then agreements)."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not getattr(user, "agency_id", None)
    ):
        return []
    return list(
        allowed_owner_ids(user, action=_action(action), category=DataCategory.INVESTIGATIONS)
    )


def may(user: Any, action: str, case: Any) -> bool:
    """The policy's word on one case's owning agency for `action`."""
    return case.owning_agency_id in allowed_agency_ids(user, action)


def is_supervisor(user: Any) -> bool:
    """Supervisors sign off adverse dispositions."""
    return bool(user and user.has_role(Role.SUPERVISOR))


def grant_membership(case: Any, user: Any) -> None:
    """Make `user` a member of the case (need-to-know). Only services call this."""
    for perm in CASE_PERMS:
        assign_perm(f"cases.{perm}", user, case)


def revoke_membership(case: Any, user: Any) -> None:
    """Take a member off the case. Only services call this."""
    for perm in CASE_PERMS:
        remove_perm(f"cases.{perm}", user, case)


def _member_case_ids(user: Any, codename: str) -> list[int]:
    """Cases the user holds `codename` on, directly or through a group.

    Every `visible_to` runs this, so it is one fixed SQL statement rather than an ORM union.
    """

    groups = get_user_model().groups.through._meta.db_table
    sql = f"""
        SELECT p.content_object_id FROM cases_caseuserobjectpermission p
          JOIN auth_permission ap ON ap.id = p.permission_id
          JOIN django_content_type ct ON ct.id = ap.content_type_id
         WHERE p.user_id = %s AND ap.codename = %s AND ct.app_label = 'cases'
        UNION
        SELECT g.content_object_id FROM cases_casegroupobjectpermission g
          JOIN "{groups}" ug ON ug.group_id = g.group_id
          JOIN auth_permission ap ON ap.id = g.permission_id
          JOIN django_content_type ct ON ct.id = ap.content_type_id
         WHERE ug.user_id = %s AND ap.codename = %s AND ct.app_label = 'cases'
        ORDER BY 1"""  # noqa: S608  # nosec B608 # the only interpolation is a table name from the model
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, codename, user.pk, codename])
        return [row[0] for row in cursor.fetchall()]


def _break_glass_case_ids(user: Any) -> set[int]:
    """Cases opened outside one's assignments under an open break-glass grant (`case:<id>`)."""
    return {
        n
        for ref in break_glass_refs(user=user)
        if ref.startswith("case:") and (n := parse_id(ref[5:])) is not None
    }


@dataclass(frozen=True)
class CaseScope:
    """Which cases a user may act on: the policy's owner agencies, then the user's unit's cases
    never opened as investigations, and the cases the user is a member of (or broke glass on)."""

    agencies: list[int]
    unit_id: int | None
    member_ids: list[int]

    def q(self) -> Q:
        """The scope as a filter (what `CaseQuerySet.visible_to` applies)."""
        # Never opened as an investigation (in triage, or dismissed/merged from triage): the routed unit.
        scope = (
            Q(routed_unit_id=self.unit_id, opened_at__isnull=True) if self.unit_id else Q(pk__in=[])
        )
        if self.member_ids:
            scope |= Q(pk__in=self.member_ids)
        return Q(owning_agency_id__in=self.agencies) & scope


def case_scope(user: Any, action: str = "view") -> CaseScope | None:
    """The scope of `user` for `action`, or None when the policy allows no case work at all.

    Both parts need the policy to allow `action` on investigations data of the owning agency
    (home roles, or agreements through privacy). The member case ids are read first (a short list
    per user) so the planner keeps the queue's ordered index scan.
    """
    agencies = allowed_agency_ids(user, action)
    if not agencies:
        return None
    member_ids = _member_case_ids(user, "change_case" if action == "change" else "view_case")
    if action == "view":
        member_ids = sorted(set(member_ids) | _break_glass_case_ids(user))
    return CaseScope(agencies=list(agencies), unit_id=user.unit_id, member_ids=member_ids)
