"""The one read path (privacy.reads): data of other categories shown beside the records read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit import context
from audit.models import AuditEvent
from privacy.models import AgreementKind, Disclosure, Role
from privacy.reads import AlsoShown, ReadKind, Shown, personal_data_shown
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CASES = ReadKind(
    action="cases.case_viewed",
    object_type="case",
    record_type="cases.case",
    category="investigations",
)


def _grant(directory: dict[str, Any], user: Any, *, source: str, scope: dict[str, list[str]]):
    """An active agreement from `source` to the user's agency, and an analyst grant under it."""
    admin = UserFactory(
        username=f"admin-{source}", unit=directory["uscis_monitoring"], roles=[Role.ADMIN]
    )
    today = timezone.localdate()
    agreement = agreement_activate(
        actor=admin,
        agreement=agreement_create(
            actor=admin,
            reference=f"{source}-reads",
            title=f"{source} data",
            kind=AgreementKind.MOU,
            source_agency=directory[source],
            recipient_agency=user.agency,
            purpose="Tests of the read path.",
            legal_authority="8 U.S.C. 1324a note",
            routine_use="routine use",
            scope=scope,
            effective_on=today - timedelta(days=1),
            expires_on=today + timedelta(days=30),
        ),
    )
    grant_create(actor=admin, user=user, role=Role.ANALYST, agreement=agreement)


def test_data_read_inside_its_owning_agency_makes_no_entry(directory):
    """DHS data read at USCIS (its owner) never left its agency: audited, not accounted."""
    uma = UserFactory(username="uma", unit=directory["uscis_monitoring"], roles=[Role.ANALYST])
    personal_data_shown(
        reader=uma,
        kind=CASES,
        records=[Shown(7, "ssn:abc", directory["uscis"].pk)],
        also=[AlsoShown("dhs_immigration", "crossref.finding", [Shown(70, "ssn:abc")])],
    )
    assert not Disclosure.objects.exists()
    read = AuditEvent.objects.get(action="cases.case_viewed")
    assert (read.subjects, read.detail["categories"]) == (["ssn:abc"], ["dhs_immigration"])


def test_two_owners_data_in_one_record_are_two_entries_once_per_request(directory):
    """One record showing data of two owners is accounted to each; a retry adds nothing."""
    petra = UserFactory(username="petra", unit=directory["twc_unit"], roles=[Role.ANALYST])
    _grant(directory, petra, source="ice", scope={"investigations": ["view"]})
    _grant(directory, petra, source="ssa", scope={"ssa_identity": ["view"]})
    _grant(directory, petra, source="uscis", scope={"dhs_immigration": ["view"]})
    finding = [Shown(70, "ssn:abc")]
    with context.bound(request_id="req-1"):
        for _attempt in range(2):
            personal_data_shown(
                reader=petra,
                kind=CASES,
                records=[Shown(7, "ssn:abc", directory["ice"].pk)],
                also=[
                    AlsoShown("ssa_identity", "crossref.finding", finding),
                    AlsoShown("dhs_immigration", "crossref.finding", finding),
                ],
            )
    assert sorted(
        Disclosure.objects.values_list("category", "owner_agency__code", "record_type", "record_id")
    ) == [
        ("dhs_immigration", "uscis", "crossref.finding", "70"),
        ("investigations", "ice-hsi", "cases.case", "7"),
        ("ssa_identity", "ssa", "crossref.finding", "70"),
    ]


def test_a_source_finds_its_disclosure_entries_under_its_older_record_type_too():
    """Partner reads of verification cases were accounted as "verification_case" before they
    took the source's name; amendment notices and the retention purge look under both."""
    from privacy import registry

    assert registry.record_types("verification.case") == ["verification.case", "verification_case"]
    assert registry.record_types("no.such.source") == ["no.such.source"]
