from datetime import date, timedelta

import pytest
from django.utils import timezone

from privacy import registry
from privacy.crypto import blind_index
from privacy.registry import PersonQuery
from tests.verification.conftest import i9
from verification import services
from verification.models import VerificationCase, Worker

pytestmark = pytest.mark.django_db


def test_cases_are_a_registered_source_found_by_ssn_or_name(employer, ssa):
    case = services.case_create(actor=None, employer=employer, data=i9())
    source = registry.source("verification.case")
    by_ssn = list(source.find(PersonQuery(ssn_index=blind_index("521874390", kind="ssn"))))
    assert [r.record_id for r in by_ssn] == [str(case.pk)]
    by_name = list(
        source.find(
            PersonQuery(
                first_name="maria", last_name="garcia lopez", date_of_birth=date(1990, 4, 12)
            )
        )
    )
    assert [r.match for r in by_name] == ["name+dob"]
    exported = source.export(str(case.pk))
    assert exported["ssn"] == "•••4390"
    assert "521874390" not in str(exported)


def test_amend_and_purge(employer, ssa):
    case = services.case_create(actor=None, employer=employer, data=i9())
    source = registry.source("verification.case")
    source.amend(str(case.pk), field="last_name", value="García López", actor=None)
    case.refresh_from_db()
    assert case.last_name == "García López"
    with pytest.raises(ValueError):
        source.amend(str(case.pk), field="ssn_enc", value="x", actor=None)
    refs = source.retention_candidates(before=timezone.now() + timedelta(seconds=1))
    assert [r.record_id for r in refs] == [str(case.pk)]
    assert source.purge([str(case.pk)]) == 1
    assert not VerificationCase.objects.exists()
    assert not Worker.objects.exists()


def test_a_purge_takes_the_row_history_of_the_record_with_it(employer, ssa):
    from django.db import DatabaseError, connection, transaction

    from audit.models import RowChange

    keep = services.case_create(
        actor=None,
        employer=employer,
        data=i9(ssn="234567890", first_name="José", last_name="Hernández-Díaz"),
    )
    gone = services.case_create(actor=None, employer=employer, data=i9())
    VerificationCase.objects.filter(pk=gone.pk).update(last_name="Garcia-Lopez")
    table = VerificationCase._meta.db_table
    assert RowChange.objects.filter(table_name=table, row_pk=str(gone.pk)).exists()
    registry.source("verification.case").purge([str(gone.pk)])
    assert not RowChange.objects.filter(table_name=table, row_pk=str(gone.pk)).exists()
    assert not RowChange.objects.filter(
        table_name=Worker._meta.db_table, row_pk=str(gone.worker_id)
    ).exists()
    assert RowChange.objects.filter(table_name=table, row_pk=str(keep.pk)).exists()
    # Outside a purge the history stays append-only.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_row_change WHERE table_name = %s", [table])
