"""Field minimisation: a partner sees only the fields of the categories her agreement covers."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from privacy.minimisation import MinimisedSerializerMixin, minimised
from privacy.policy import DataCategory, visible_fields

pytestmark = pytest.mark.django_db

FIELDS = {"ssn_last4": DataCategory.SSA_IDENTITY, "a_number_last4": DataCategory.DHS_IMMIGRATION}
ROW = {"id": 7, "employer": "Acme", "status": "tnc", "ssn_last4": "6789", "a_number_last4": "4321"}


class CaseOutput(MinimisedSerializerMixin, serializers.Serializer):
    privacy_category = DataCategory.VERIFICATION_CASES
    privacy_fields = FIELDS
    id = serializers.IntegerField()
    employer = serializers.CharField()
    status = serializers.CharField()
    ssn_last4 = serializers.CharField()
    a_number_last4 = serializers.CharField()


def _as(user):
    request = APIRequestFactory().get("/")
    request.user = user
    return {"request": request}


def test_a_partner_gets_the_covered_fields_and_the_others_are_absent(petra):
    data = CaseOutput(ROW, context=_as(petra)).data
    assert data == {"id": 7, "employer": "Acme", "status": "tnc"}
    assert "ssn_last4" not in data


def test_a_partner_whose_agreement_expired_gets_nothing(eddie):
    assert CaseOutput(ROW, context=_as(eddie)).data == {}


def test_a_home_status_verifier_sees_the_fields_of_her_own_agency(vera, directory):
    assert set(minimised(vera, ROW, FIELDS, category=DataCategory.VERIFICATION_CASES)) == {
        "id",
        "employer",
        "status",
        "a_number_last4",
    }


def test_visible_fields_answers_for_a_map_or_a_single_category(petra):
    assert visible_fields(
        petra, {"x": DataCategory.VERIFICATION_CASES, "y": DataCategory.SSA_IDENTITY}
    ) == {"x"}
    assert visible_fields(petra, DataCategory.EMPLOYER_DATA) is True
    assert visible_fields(petra, DataCategory.ENFORCEMENT) is False
