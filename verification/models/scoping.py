"""`visible_to` for verification data: one policy decision per category, all rows or none."""

from __future__ import annotations

from typing import Any, ClassVar

from core.models import ScopedQuerySet
from privacy.policy import DataCategory, decide


class CategoryScopedQuerySet(ScopedQuerySet):
    """Rows of one data category: all of them if the policy allows the action, otherwise none.

    Employer API keys are not users: the API layer scopes them to their employer instead.
    """

    category: ClassVar[str] = DataCategory.VERIFICATION_CASES

    def visible_to(self, user: Any, action: str = "view") -> CategoryScopedQuerySet:
        """All rows when `decide` allows `action` on this category, else none."""
        if decide(user, action=action, category=self.category).allowed:
            return self.all()
        return self.none()


class VerificationScopedQuerySet(CategoryScopedQuerySet):
    category = DataCategory.VERIFICATION_CASES


class EmployerScopedQuerySet(CategoryScopedQuerySet):
    category = DataCategory.EMPLOYER_DATA


class SsaScopedQuerySet(CategoryScopedQuerySet):
    category = DataCategory.SSA_IDENTITY


class DhsScopedQuerySet(CategoryScopedQuerySet):
    category = DataCategory.DHS_IMMIGRATION


class EnforcementScopedQuerySet(CategoryScopedQuerySet):
    category = DataCategory.ENFORCEMENT
