"""Field minimisation for serializers and templates: fields outside the agreement's scope are absent.

A serializer declares which data category each field belongs to; fields not listed belong to
`privacy_category`. For a partner agency's user, the fields of categories their agreement does
not cover are removed from the answer (absent, not blank), in lists and details alike:

    class CaseOutput(MinimisedSerializerMixin, serializers.ModelSerializer):
        privacy_category = DataCategory.VERIFICATION_CASES
        privacy_fields = {"ssn_last4": DataCategory.SSA_IDENTITY, "a_number_last4": DataCategory.DHS_IMMIGRATION}

The owner of each category is the configured owner, or `privacy_owners(instance)` when a row
carries its own owner (e.g. a case's owning agency).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from privacy import policy


class MinimisedSerializerMixin:
    """Drops the fields whose category the requesting user may not view."""

    privacy_category: ClassVar[str] = ""
    privacy_fields: ClassVar[Mapping[str, str]] = {}
    privacy_action: ClassVar[str] = "view"

    def privacy_owners(self, instance: Any) -> Mapping[str, Any]:
        """{category: owning agency} for this row; empty means each category's configured owner."""
        return {}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        request = getattr(self, "context", {}).get("request")
        user = getattr(request, "user", None)
        return policy.minimise(
            user,
            data,
            self.privacy_fields,
            default_category=self.privacy_category,
            action=self.privacy_action,
            owners=self.privacy_owners(instance),
        )


def minimised(
    user: Any,
    data: Mapping[str, Any],
    field_categories: Mapping[str, str],
    *,
    category: str,
    owners: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`data` (a row for a template or an export) without the fields `user` may not see."""
    return policy.minimise(user, data, field_categories, default_category=category, owners=owners)
