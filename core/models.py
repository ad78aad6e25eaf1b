"""The base model and the read-scoping convention every model with personal data follows."""

from __future__ import annotations

from typing import Any

from django.db import models


class ScopedQuerySet(models.QuerySet[Any]):
    """A queryset whose reads go through `visible_to`.

    Every model that holds personal data gives its manager a subclass of this and overrides
    `visible_to`. The default answers nothing, so a model that forgets to say who may see it
    shows nobody anything (STYLE.md rule 4).
    """

    def visible_to(self, user: Any, action: str = "view") -> ScopedQuerySet:
        """The rows `user` may see for `action`; nothing unless a subclass says otherwise."""
        return self.none()


class BaseModel(models.Model):
    """Creation and last-change times for every domain table."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
