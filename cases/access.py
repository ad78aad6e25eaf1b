"""Which owning agencies' cases the policy lets a user act on, and the guardian grants of a case.

The owner agencies come from `privacy.policy.allowed_owner_ids` (home roles, then agreements),
so this module never re-implements the policy. It imports nothing of the cases models: the
models' `visible_to` is built on it.
"""

from __future__ import annotations

from typing import Any

from guardian.shortcuts import assign_perm, remove_perm

from privacy.models import Role
from privacy.policy import Action, DataCategory, allowed_owner_ids

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
