"""The access policy behind every `visible_to`: role x agreement scope x validity.

What a user may do with a category of data is decided here, at each request. Today this
answers for the home agency only (roles over the home agency's own data). Grants over other
agencies' data, tied to inter-agency agreements, extend `decide` without changing its signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models


class DataCategory(models.TextChoices):
    SSA_IDENTITY = "ssa_identity", "SSA identity (Numident)"
    DHS_IMMIGRATION = "dhs_immigration", "DHS immigration status"
    ENFORCEMENT = "enforcement", "Enforcement subjects"
    VERIFICATION_CASES = "verification_cases", "Verification cases"
    EMPLOYER_DATA = "employer_data", "Employer data"
    INVESTIGATIONS = "investigations", "Flagged cases and investigations"


class Action(models.TextChoices):
    VIEW = "view", "View"
    SEARCH = "search", "Search"
    EXPORT = "export", "Export"
    CHANGE = "change", "Change"
    RUN_MATCHING = "run_matching", "Run matching"
    RECEIVE_HANDOFF = "receive_handoff", "Receive handoffs"


_ALL = set(Action.values)
_READ = {Action.VIEW, Action.SEARCH, Action.EXPORT}
_WORK = _READ | {Action.CHANGE}

# What each home role may do, in principle, with each category its own agency owns.
ROLE_ACTIONS: dict[str, dict[str, set[str]]] = {
    "analyst": {c: _WORK | {Action.RECEIVE_HANDOFF} for c in DataCategory.values},
    "supervisor": dict.fromkeys(DataCategory.values, _ALL),
    "admin": {
        DataCategory.EMPLOYER_DATA: _WORK,
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
}


def category_owner_code(category: str) -> str | None:
    """The code of the agency that owns a category of data (a setting); None if owned per row."""
    return settings.CROSSCHECK_CATEGORY_OWNERS.get(category)


@dataclass(frozen=True)
class Decision:
    """The answer of the policy for one user, action and category (and owner agency)."""

    allowed: bool
    basis: str = ""  # "home", or "agreement" once grants exist
    agreement_id: int | None = None
    owner_agency_id: int | None = None
    accountable: bool = False  # a disclosure across departments, for the accounting (552a(c))
    reason: str = ""


def decide(
    user: Any, *, action: str, category: str, owner_agency: Any = None, at: datetime | None = None
) -> Decision:
    """May `user` do `action` on `category` data owned by `owner_agency` (default: the category's owner)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Decision(False, reason="not signed in")
    if owner_agency is None:
        code = category_owner_code(category)
        owner_agency_id = _agency_id(code) if code else None
    else:
        owner_agency_id = getattr(owner_agency, "pk", owner_agency)
    if owner_agency_id is not None and owner_agency_id == user.agency_id:
        for role in user.roles or []:
            if action in ROLE_ACTIONS.get(role, {}).get(category, set()):
                return Decision(True, basis="home", owner_agency_id=owner_agency_id)
    return Decision(False, owner_agency_id=owner_agency_id, reason="no role or agreement covers this")


def _agency_id(code: str) -> int | None:
    from privacy.models import Agency

    return Agency.objects.filter(code=code).values_list("pk", flat=True).first()
