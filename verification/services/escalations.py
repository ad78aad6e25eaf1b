"""Telling status verifiers about escalated cases: one message per verifier and sweep, not per case.

The escalation itself (the flag, its audit event) is written per case by the lifecycle services;
this module only routes the news. A Needs More Time case waits on a DHS manual check, so it goes
to USCIS; a case in continuance goes to the agency its mismatch came from (SSA, DHS, or both).
A verifier is told only if the policy lets them work verification cases today; when no one at
the routed agency may, every verifier who may is told, so an escalation is never silent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from privacy.models.directory import Role
from privacy.models.mail import MailKind
from privacy.policy import DataCategory, category_owner_code, decide, request_scope
from privacy.services.notifications import notify
from verification.models import CaseStatus, TncSource, VerificationCase

KINDS: dict[str, str] = {
    CaseStatus.NEEDS_MORE_TIME: "Needs More Time past the DHS manual-check deadline",
    CaseStatus.CASE_IN_CONTINUANCE: "in continuance past the escalation threshold",
}


@dataclass(frozen=True)
class Escalated:
    """What a notice needs of an escalated case (a sweep may escalate many: no full rows kept)."""

    pk: int
    status: str
    tnc_source: str

    @classmethod
    def of(cls, case: VerificationCase) -> Escalated:
        """The notice facts of a case."""
        return cls(case.pk, case.status, case.tnc_source)


def routed_agencies(case: Escalated | VerificationCase) -> set[str]:
    """The codes of the agencies whose status verifiers work this escalated case."""
    ssa = category_owner_code(DataCategory.SSA_IDENTITY) or "ssa"
    dhs = category_owner_code(DataCategory.DHS_IMMIGRATION) or "uscis"
    if case.status == CaseStatus.NEEDS_MORE_TIME:
        return {dhs}
    by_source: dict[str, set[str]] = {
        TncSource.SSA: {ssa},
        TncSource.DHS: {dhs},
        TncSource.BOTH: {ssa, dhs},
    }
    return by_source.get(case.tnc_source, {ssa, dhs})


def status_verifiers() -> dict[str, list[Any]]:
    """Agency code -> the active users who may work verification cases now, as status verifiers."""
    user_model = get_user_model()
    candidates = (
        user_model.objects.filter(is_active=True)
        .filter(Q(roles__contains=[Role.STATUS_VERIFIER]) | Q(grants__role=Role.STATUS_VERIFIER))
        .select_related("agency")
        .distinct()
        .order_by("pk")
    )
    out: dict[str, list[Any]] = defaultdict(list)
    with request_scope():
        for user in candidates:
            if decide(user, action="change", category=DataCategory.VERIFICATION_CASES).allowed:
                out[user.agency.code if user.agency is not None else ""].append(user)
    return dict(out)


def escalations_notify(*, cases: Iterable[Escalated | VerificationCase]) -> int:
    """Send each status verifier concerned one message listing the newly escalated cases; count them."""

    cases = list(cases)
    if not cases:
        return 0
    verifiers = status_verifiers()
    everyone = {u.pk: u for users in verifiers.values() for u in users}
    per_user: dict[int, list[Escalated | VerificationCase]] = defaultdict(list)
    for case in cases:
        users = [
            u for code in sorted(routed_agencies(case)) for u in verifiers.get(code, [])
        ] or list(everyone.values())
        for user in {u.pk: u for u in users}.values():
            per_user[user.pk].append(case)
    link = reverse("verification:case-list") + "?escalated=1"
    for pk, mine in per_user.items():
        counts: dict[str, int] = defaultdict(int)
        for case in mine:
            counts[case.status] += 1
        lines = [
            f"{n} case{'s' if n != 1 else ''} {KINDS[status]}"
            for status, n in sorted(counts.items())
        ]
        ids = ", ".join(str(c.pk) for c in mine[:20]) + (
            f" and {len(mine) - 20} more" if len(mine) > 20 else ""
        )
        notify(
            user=everyone[pk],
            title=f"{len(mine)} verification case{'s' if len(mine) != 1 else ''} escalated",
            body="; ".join(lines) + f". Cases: {ids}.",
            link=link,
            kind=MailKind.ESCALATION,
        )
    return len(per_user)
