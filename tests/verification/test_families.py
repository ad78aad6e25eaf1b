"""The hand-written fixture families (tests/verification/fixtures/families): references load, and
the instant result agrees with every label, so the generator is not the only judge."""

import csv
from datetime import date
from pathlib import Path

import pytest

from verification.instant import Submitted, instant_result
from verification.loading import load_reference
from verification.models import CaseStatus, EnforcementSubject

FIXTURES = Path(__file__).parent / "fixtures" / "families"
AS_OF = date(2026, 11, 2)

pytestmark = pytest.mark.django_db


@pytest.fixture
def references():
    for source in ("ssa", "dhs", "enforcement"):
        assert load_reference(source=source, path=FIXTURES / f"{source}.csv").error_count == 0


def rows(name):
    with (FIXTURES / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_family_is_present():
    labels = {r["label"] for r in rows("labels.csv")}
    assert {
        "none",
        "clerical",
        "fraud:ssn_reuse",
        "fraud:multi_identity",
        "fraud:deceased",
        "fraud:locked",
        "fraud:expired_authorization",
        "fraud:enforcement_hit",
        "employer:late_case",
        "employer:prescreening",
        "employer:idle_tnc",
        "employer:fnc_retained",
    } <= labels


def test_the_instant_result_agrees_with_each_label(references):
    labels = {r["employer_case_id"]: (r["label"], r["detail"]) for r in rows("labels.csv")}
    seen_multi = set()
    for case in rows("cases.csv"):
        label, detail = labels[case["employer_case_id"]]
        result = instant_result(
            Submitted(
                first_name=case["first_name"],
                last_name=case["last_name"],
                other_last_names="",
                date_of_birth=date.fromisoformat(case["date_of_birth"]),
                ssn=case["ssn"],
                citizenship_status=case["citizenship_status"],
                hire_date=date.fromisoformat(case["hire_date"]),
                a_number=case["a_number"],
            ),
            today=AS_OF,
        )
        hints = {c.result.hint for c in result.comparisons}
        where = (case["employer_case_id"], label, detail, result.status, sorted(hints))
        if label in (
            "none",
            "fraud:ssn_reuse",
            "fraud:enforcement_hit",
            "employer:late_case",
            "employer:prescreening",
        ):
            assert result.status == CaseStatus.EMPLOYMENT_AUTHORIZED, where
        elif label == "clerical":
            assert result.status == CaseStatus.TENTATIVE_NONCONFIRMATION, where
            assert detail in hints, where
        elif label in ("fraud:deceased", "fraud:locked", "fraud:expired_authorization"):
            assert {
                "fraud:deceased": "deceased",
                "fraud:locked": "locked",
                "fraud:expired_authorization": "expired",
            }[label] in hints, where
        elif label == "fraud:multi_identity":
            first = case["ssn"] not in seen_multi
            seen_multi.add(case["ssn"])
            assert (result.status == CaseStatus.EMPLOYMENT_AUTHORIZED) == first, where
        elif label in ("employer:idle_tnc", "employer:fnc_retained"):
            assert result.status == CaseStatus.TENTATIVE_NONCONFIRMATION, where
        if detail == "stale_citizenship":
            assert "stale_citizenship" in hints, where


def test_the_enforcement_hit_is_an_enforcement_subject(references):
    hit = next(c for c in rows("cases.csv") if c["employer_case_id"] == "FX-18")
    assert (
        EnforcementSubject.objects.current()
        .filter(
            first_name=hit["first_name"],
            last_name=hit["last_name"],
            date_of_birth=hit["date_of_birth"],
        )
        .exists()
    )
