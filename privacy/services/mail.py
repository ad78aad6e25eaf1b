"""Staff e-mail as each user chose per kind: at once, in a daily digest, or never.

Every message carries a signed one-click unsubscribe link (RFC 8058 `List-Unsubscribe` and
`List-Unsubscribe-Post`) scoped to its user and kind(s); it works without signing in, because
the signature is the proof. Each step is audited: a message sent, queued for the digest or held
back, a digest sent, a preference changed, an unsubscribe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import event_record
from core.errors import NotFound, ValidationFailed
from privacy.models import User
from privacy.models.mail import Delivery, MailDigestItem, MailKind, MailPreference

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "crosscheck.mail.unsubscribe"
# Lines already sent in a digest are kept this long (the audit trail keeps that they were sent).
DIGEST_SENT_KEEP_DAYS = 30
SUBJECT_PREFIX = "[Crosscheck] "


def delivery_of(*, user: Any, kind: str) -> str:
    """The user's delivery for one kind (at once unless they chose otherwise)."""
    chosen = MailPreference.objects.filter(user_id=user.pk, kind=kind).values_list(
        "delivery", flat=True
    )
    return next(iter(chosen), Delivery.IMMEDIATE)


def unsubscribe_token(*, user: Any, kinds: Iterable[str]) -> str:
    """A signed token naming one user and the kinds its link stops (no expiry in the token itself)."""
    return signing.dumps({"u": user.pk, "k": sorted(set(kinds))}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, user: Any, kinds: Iterable[str]) -> str:
    """The absolute one-click unsubscribe address for these kinds."""
    path = reverse("mail-unsubscribe", args=[unsubscribe_token(user=user, kinds=kinds)])
    return settings.PRIVACY_SITE_URL.rstrip("/") + path


def unsubscribe_target(*, token: str) -> tuple[User, list[str]]:
    """The active user and kinds a token names; NotFound if forged, altered, too old or stale."""
    try:
        data = signing.loads(
            token, salt=UNSUBSCRIBE_SALT, max_age=settings.MAIL_UNSUBSCRIBE_MAX_AGE
        )
        user_id, kinds = int(data["u"]), [str(k) for k in data["k"]]
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("This unsubscribe link is not valid or has expired.") from exc
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not kinds or not set(kinds) <= set(MailKind.values):
        raise NotFound("This unsubscribe link is not valid or has expired.")
    return user, kinds


def _footer(user: Any, kinds: list[str]) -> str:
    labels = ", ".join(str(MailKind(k).label).lower() for k in kinds)
    settings_url = settings.PRIVACY_SITE_URL.rstrip("/") + reverse("privacy:mail-preferences")
    return (
        f"\n\n--\nYou get this because your Crosscheck e-mail settings send you: {labels}.\n"
        f"Stop these e-mails (one click, no sign-in): {unsubscribe_url(user=user, kinds=kinds)}\n"
        f"Choose at once, daily digest or never per kind: {settings_url}\n"
    )


def _message(user: Any, kinds: list[str], subject: str, text: str) -> EmailMessage:
    url = unsubscribe_url(user=user, kinds=kinds)
    return EmailMessage(
        subject=(SUBJECT_PREFIX + subject)[:200],
        body=text + _footer(user, kinds),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def _deliver(message: EmailMessage, user_id: int, kinds: list[str]) -> bool:
    """Hand one message to the mail server; a refusal is logged, never raised into the caller."""
    try:
        message.send(fail_silently=False)
    except Exception:  # any SMTP or socket failure: the in-app message still stands
        log.warning("mail to user %s (%s) was not accepted", user_id, ",".join(kinds))
        return False
    return True


def _link_text(link: str) -> str:
    return f"\n\n{settings.PRIVACY_SITE_URL.rstrip('/')}{link}" if link else ""


def mail_send(*, user: Any, kind: str, subject: str, body: str = "", link: str = "") -> str:
    """E-mail one message as the user chose for its kind; returns the delivery used.

    At once: sent after the transaction commits. Daily: queued for the digest. Never: held back.
    A user without an address, or inactive, gets nothing (and nothing is recorded).
    """
    if kind not in MailKind.values:
        raise ValueError(f"Unknown mail kind {kind!r}.")
    if user is None or not getattr(user, "email", "") or not user.is_active:
        return ""
    delivery = delivery_of(user=user, kind=kind)
    detail = {"kind": kind, "delivery": delivery}
    if delivery == Delivery.NEVER:
        event_record(action="mail.suppressed", object_type="user", object_id=user.pk, detail=detail)
        return delivery
    if delivery == Delivery.DAILY:
        item = MailDigestItem.objects.create(
            user=user, kind=kind, subject=subject[:200], body=body, link=link[:300]
        )
        event_record(
            action="mail.queued",
            object_type="mail_digest_item",
            object_id=item.pk,
            detail={**detail, "user": user.pk},
        )
        return delivery
    message = _message(user, [kind], subject, body + _link_text(link))
    event_record(action="mail.sent", object_type="user", object_id=user.pk, detail=detail)
    pk = user.pk
    transaction.on_commit(lambda: _deliver(message, pk, [kind]))
    return delivery


@transaction.atomic
def mail_preferences_set(*, actor: User, choices: Mapping[str, str]) -> dict[str, str]:
    """Set the actor's own delivery per kind; audited with each change before and after."""
    errors: dict[str, list[str]] = {}
    for kind, delivery in choices.items():
        if kind not in MailKind.values:
            errors[kind] = ["Unknown kind of e-mail."]
        elif delivery not in Delivery.values:
            errors[kind] = ["Choose at once, daily digest or never."]
    if errors:
        raise ValidationFailed("Some choices are not valid.", field_errors=errors)
    return _preferences_write(actor=actor, user=actor, choices=choices, how="settings")


def _preferences_write(
    *, actor: User | None, user: User, choices: Mapping[str, str], how: str
) -> dict[str, str]:
    current = dict(
        MailPreference.objects.select_for_update().filter(user=user).values_list("kind", "delivery")
    )
    changes: dict[str, list[str]] = {}
    for kind, delivery in choices.items():
        before = current.get(kind, Delivery.IMMEDIATE)
        if before == delivery:
            continue
        MailPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )
        changes[kind] = [before, delivery]
    unsubscribe = how != "settings"
    if changes or unsubscribe:
        # An unsubscribe is recorded even when it changes nothing: the link was used.
        event_record(
            action="mail.unsubscribed" if unsubscribe else "mail.preferences_changed",
            actor=actor or user,
            object_type="user",
            object_id=user.pk,
            changes=changes,
            detail={"how": how},
        )
    return {**current, **{k: v[1] for k, v in changes.items()}}


@transaction.atomic
def mail_unsubscribe(*, token: str, one_click: bool = False) -> tuple[User, list[str]]:
    """Stop the kinds a signed link names for its user (no sign-in: the signature is the proof)."""
    user, kinds = unsubscribe_target(token=token)
    _preferences_write(
        actor=user,
        user=user,
        choices=dict.fromkeys(kinds, Delivery.NEVER),
        how="one-click" if one_click else "link",
    )
    # Lines of those kinds already queued for the digest are not sent either.
    MailDigestItem.objects.filter(user=user, kind__in=kinds, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    return user, kinds


def _digest_text(items: list[MailDigestItem]) -> str:
    lines = [f"Your Crosscheck messages of the last day ({len(items)}):"]
    by_kind: dict[str, list[MailDigestItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    for kind, mine in by_kind.items():
        lines.append(f"\n== {MailKind(kind).label} ({len(mine)})")
        for item in mine:
            when = timezone.localtime(item.created_at).strftime("%b %d %H:%M")
            lines.append(f"- {when} {item.subject}")
            if item.body:
                lines.append(f"  {item.body}")
            if item.link:
                lines.append(f"  {settings.PRIVACY_SITE_URL.rstrip('/')}{item.link}")
    return "\n".join(lines)


def mail_digest_send(*, user_id: int) -> int:
    """Send one user's pending digest as one message; returns the lines it held (0: nothing to send).

    The lines are locked, sent and marked in one transaction: if the mail server refuses, nothing
    is marked and the next run sends them; a second worker skips lines the first holds.
    """
    with transaction.atomic():
        user = User.objects.filter(pk=user_id).first()
        pending = MailDigestItem.objects.select_for_update(skip_locked=True).filter(
            user_id=user_id, sent_at__isnull=True
        )
        items = list(pending)
        if not items or user is None:
            return 0
        now = timezone.now()
        stopped = {
            k
            for k, d in MailPreference.objects.filter(user=user).values_list("kind", "delivery")
            if d == Delivery.NEVER
        }
        wanted = [i for i in items if i.kind not in stopped]
        MailDigestItem.objects.filter(pk__in=[i.pk for i in items]).update(sent_at=now)
        if not wanted or not user.is_active or not user.email:
            return 0
        kinds = sorted({i.kind for i in wanted})
        subject = f"Daily digest: {len(wanted)} message{'s' if len(wanted) != 1 else ''}"
        message = _message(user, kinds, subject, _digest_text(wanted))
        event_record(
            action="mail.digest_sent",
            object_type="user",
            object_id=user.pk,
            detail={"lines": len(wanted), "kinds": kinds},
        )
        # Sent inside the transaction on purpose: a refused message rolls the marks back.
        message.send(fail_silently=False)
        return len(wanted)


def mail_digests_send() -> dict[str, int]:
    """Send every pending daily digest (one message per user); safe to run twice."""
    users = (
        MailDigestItem.objects.filter(sent_at__isnull=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = failed = lines = 0
    for user_id in list(users):
        try:
            count = mail_digest_send(user_id=user_id)
        except Exception:  # one refused mailbox must not hold back the others' digests
            log.warning("daily digest to user %s was not accepted; it stays queued", user_id)
            failed += 1
            continue
        sent += 1 if count else 0
        lines += count
    old = timezone.now() - timedelta(days=DIGEST_SENT_KEEP_DAYS)
    MailDigestItem.objects.filter(sent_at__lt=old).delete()
    return {"digests": sent, "lines": lines, "failed": failed}
