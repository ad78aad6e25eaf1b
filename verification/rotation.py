"""Re-encrypting identifier tokens under the current data key, in chunks (key rotation).

Put the new key first in DATA_KEYS and keep the old ones after it: everything still reads, new
writes use the new key, and `manage.py rotate_keys` re-encrypts the rest chunk by chunk, each
chunk in its own short transaction. It only touches rows still under an old key, so it can be
stopped and started again. Once it reports nothing left, the old keys can leave DATA_KEYS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from audit.services import event_record
from privacy import crypto
from privacy.models import IdentityProvider
from verification.models import (
    EnforcementSubject,
    ImmigrationRecord,
    Numident,
    VerificationCase,
    WebhookSubscription,
)

# model -> token columns (prefix + "_enc")
SEALED: list[tuple[Any, tuple[str, ...]]] = [
    (VerificationCase, ("ssn", "a_number", "i94", "passport", "document_number")),
    (Numident, ("ssn",)),
    (ImmigrationRecord, ("a_number", "i94", "passport")),
    (WebhookSubscription, ("secret", "previous_secret")),  # webhook signing secrets
    (IdentityProvider, ("client_secret",)),  # an agency's SSO client secret
]


@dataclass
class RotationReport:
    """Rows re-encrypted per table."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        """Rows over all tables."""
        return sum(self.rows.values())


def _stale(prefixes: tuple[str, ...], kid: str) -> Q:
    q = Q()
    for prefix in prefixes:
        column = f"{prefix}_enc"
        q |= Q(**{f"{column}__gt": ""}) & ~Q(**{f"{column}__startswith": f"{kid}$"})
    return q


def pending(ring: crypto.Keyring | None = None) -> dict[str, int]:
    """Rows per table that still hold a token under an old key."""
    ring = ring or crypto.keyring()
    out = {
        model._meta.db_table: model.objects.filter(_stale(prefixes, ring.current_kid)).count()
        for model, prefixes in SEALED
    }
    out[EnforcementSubject._meta.db_table] = sum(
        1
        for docs in EnforcementSubject.objects.exclude(documents_enc=[]).values_list(
            "documents_enc", flat=True
        )
        if any(crypto.needs_rotation(t, ring) for t in docs)
    )
    return out


def rotate(
    *, chunk: int = 2000, progress: Callable[[str, int], None] | None = None
) -> RotationReport:
    """Re-encrypt every token not under the current key; returns the rows changed per table."""
    ring = crypto.keyring()
    kid = ring.current_kid
    done: dict[str, int] = {}
    for model, prefixes in SEALED:
        table = model._meta.db_table
        fields = [f"{p}_enc" for p in prefixes]
        last = 0
        count = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(_stale(prefixes, kid), pk__gt=last)
                    .order_by("pk")
                    .only("pk", *fields)[:chunk]
                )
                if not rows:
                    break
                for row in rows:
                    for field in fields:
                        token = getattr(row, field)
                        if token and crypto.needs_rotation(token, ring):
                            clear = crypto.decrypt(
                                token, table=table, column=field, row_id=row.pk, ring=ring
                            )
                            setattr(
                                row,
                                field,
                                crypto.encrypt(
                                    clear, table=table, column=field, row_id=row.pk, ring=ring
                                ),
                            )
                model.objects.bulk_update(rows, fields)
                last = rows[-1].pk
                count += len(rows)
            if progress:
                progress(table, len(rows))
        done[table] = count
    table = EnforcementSubject._meta.db_table
    count = 0
    with transaction.atomic():
        for subject in (
            EnforcementSubject.objects.select_for_update()
            .exclude(documents_enc=[])
            .only("pk", "documents_enc")
        ):
            if any(crypto.needs_rotation(t, ring) for t in subject.documents_enc):
                subject.documents_enc = [
                    crypto.encrypt(
                        crypto.decrypt(
                            t,
                            table=table,
                            column=f"documents_enc[{i}]",
                            row_id=subject.pk,
                            ring=ring,
                        ),
                        table=table,
                        column=f"documents_enc[{i}]",
                        row_id=subject.pk,
                        ring=ring,
                    )
                    for i, t in enumerate(subject.documents_enc)
                ]
                subject.save(update_fields=["documents_enc"])
                count += 1
    done[table] = count
    report = RotationReport(rows=done)
    event_record(
        action="keys.rotated", object_type="data_key", object_id=kid, detail={"rows": done}
    )
    return report
