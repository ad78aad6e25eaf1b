"""Webhook secrets and signatures.

A secret is `whsec_` + 256 random bits, shown once to whoever creates or rotates it and stored as
an AES-GCM token (privacy.crypto) bound to its subscription's row and column. Each delivery is
signed with HMAC-SHA256 over `<timestamp>.<body>`:

    Crosscheck-Signature: t=1764835200,v1=<hex>[,v1=<hex of the previous secret>]

During a rotation's overlap both secrets sign, so a receiver that still holds the old one keeps
verifying until it switches. The README shows a receiver's check in ten lines.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_secrets

from django.utils import timezone

from privacy import crypto
from verification.models import WebhookSubscription

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Crosscheck-Signature"
SCHEME = "v1"


def new_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + random_secrets.token_urlsafe(32)


def _table() -> str:
    return WebhookSubscription._meta.db_table


def seal(subscription: WebhookSubscription, column: str, secret: str) -> str:
    """The token of `secret` for this subscription's row and column (the row must have its id)."""
    assert subscription.pk is not None, "save the subscription before sealing its secret"
    return crypto.encrypt(secret, table=_table(), column=column, row_id=subscription.pk)


def signing_secrets(subscription: WebhookSubscription) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during overlap."""
    out = [
        crypto.decrypt(
            subscription.secret_enc, table=_table(), column="secret_enc", row_id=subscription.pk
        )
    ]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret_enc and expires and expires > timezone.now():
        out.append(
            crypto.decrypt(
                subscription.previous_secret_enc,
                table=_table(),
                column="previous_secret_enc",
                row_id=subscription.pk,
            )
        )
    return out


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of `<timestamp>.<body>` under the secret, in hex."""
    return hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The `Crosscheck-Signature` value: the timestamp, then one v1 signature per secret."""
    parts = [f"t={timestamp}"] + [f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)
