"""Sessions, invitations, break-glass access and in-app notifications."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import BaseModel


class UserSession(models.Model):
    """A session key held by a user, so that deactivation can end every session at once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_keys"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class Invitation(BaseModel):
    """An invitation to join: the account exists inactive until the invitee sets a password and enrols 2FA."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitation"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Invitation for {self.user}"

    @property
    def is_usable(self) -> bool:
        """Not yet accepted and not expired."""
        return self.accepted_at is None and self.expires_at > timezone.now()


class BreakGlassGrantQuerySet(models.QuerySet["BreakGlassGrant"]):
    def active(self, at: Any = None) -> BreakGlassGrantQuerySet:
        """Grants whose time box has not closed."""
        return self.filter(
            expires_at__gt=at or timezone.now(), started_at__lte=at or timezone.now()
        )

    def visible_to(self, user: Any, action: str = "view") -> BreakGlassGrantQuerySet:
        """Supervisors and auditors see all break-glass use; users their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if set(user.roles or []) & {"supervisor", "auditor", "admin"}:
            return self.all()
        return self.filter(user=user)


class BreakGlassGrant(models.Model):
    """Time-boxed access to one subject outside one's assignments, on a written justification."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="break_glass"
    )
    subject_ref = models.CharField(
        max_length=160, help_text="What it opens, e.g. 'case:42' or a person reference."
    )
    justification = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    uses = models.PositiveIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = BreakGlassGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "subject_ref", "expires_at"], name="break_glass_lookup")
        ]

    def __str__(self) -> str:
        return f"Break-glass {self.user_id} → {self.subject_ref}"


class Notification(models.Model):
    """An in-app message (the e-mail twin goes out after commit)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
