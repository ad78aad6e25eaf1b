"""Writes that bypass the services (admin, shell, bulk updates) are still caught by row history."""

from __future__ import annotations

import pytest

from audit import context
from audit.models import RowChange
from tests.verification.conftest import CANARY_SSN, i9
from verification import services
from verification.models import Employer, VerificationCase

pytestmark = pytest.mark.django_db


def test_a_bulk_update_of_cases_is_in_row_history_without_identifiers(employer, ssa, alice):
    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    with context.bound(user=alice, request_id="req-bulk-1"):
        VerificationCase.objects.filter(pk=case.pk).update(last_name="Smyth")
    change = RowChange.objects.filter(
        table_name=VerificationCase._meta.db_table, row_pk=str(case.pk), operation="UPDATE"
    ).latest("id")
    assert change.old["last_name"] == "Smith"
    assert change.new["last_name"] == "Smyth"
    assert change.app_user_id == alice.pk
    assert change.request_id == "req-bulk-1"
    recorded = " ".join(
        str(v)
        for row in RowChange.objects.filter(table_name=VerificationCase._meta.db_table)
        for v in (row.old, row.new)
    )
    assert CANARY_SSN not in recorded
    assert not any(name.startswith("ssn") for name in change.new)
    assert case.ssn_bidx not in recorded


def test_employer_changes_are_in_row_history(employer):
    Employer.objects.filter(pk=employer.pk).update(name="Renamed Holdings")
    change = RowChange.objects.filter(
        table_name=Employer._meta.db_table, row_pk=str(employer.pk)
    ).latest("id")
    assert change.new["name"] == "Renamed Holdings"


def test_row_history_leaves_the_birth_date_out(employer, ssa, alice):
    case = services.case_create(actor=None, employer=employer, data=i9())
    VerificationCase.objects.filter(pk=case.pk).update(last_name="Smyth")
    rows = RowChange.objects.filter(table_name=VerificationCase._meta.db_table, row_pk=str(case.pk))
    assert rows.exists()
    for row in rows:
        for image in (row.old, row.new):
            assert "date_of_birth" not in (image or {})
    assert "1990-04-12" not in str([(r.old, r.new) for r in rows])
