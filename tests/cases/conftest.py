"""Fixtures for the cases app: findings as the engine writes them, routing, and flagged cases.

Findings are written straight to the engine's table (synthetic, with the same keys and per-field
comparisons as the rules write); everything after that goes through the cases services.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Case, RoutingRule
from cases.services import findings_ingest_all
from crossref.models import Finding
from privacy import crypto
from privacy.models import AgreementKind, Role
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.factories import UserFactory
from verification.models import Employer, VerificationCase, Worker

_seq = itertools.count(1)
_ein = itertools.count(700000001)


def employer(*, name: str = "Acme Builders", state: str = "TX") -> Employer:
    """An enrolled employer."""
    return Employer.objects.create(
        ein=str(next(_ein)), name=name, naics="236220", state=state, mou_signed_on=date(2015, 1, 1)
    )


def verification_case(
    emp: Employer, *, ssn: str, first: str, last: str, dob: date = date(1990, 4, 3)
) -> VerificationCase:
    """A verification case as the employer submitted it (identifiers blind-indexed, SSN kept masked)."""
    bidx = crypto.blind_index(ssn, kind="ssn")
    worker, _ = Worker.objects.get_or_create(
        employer=emp,
        ssn_bidx=bidx,
        defaults={
            "ssn_last4": ssn[-4:],
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
        },
    )
    hire = date(2026, 3, 2)
    n = next(_seq)
    return VerificationCase.objects.create(
        employer=emp,
        worker=worker,
        first_name=first,
        last_name=last,
        date_of_birth=dob,
        ssn_enc="x",
        ssn_bidx=bidx,
        ssn_last4=ssn[-4:],
        citizenship_status="citizen",
        document_type="us_passport",
        offer_accepted_on=hire - timedelta(days=7),
        i9_completed_on=hire,
        hire_date=hire,
        status="employment_authorized",
        submitted_at=timezone.now(),
        employer_case_id=f"T{n}",
    )


NAME_FIELDS = [
    {
        "field": "last_name",
        "source": "ssa",
        "submitted": "GARCIA",
        "reference": "MARTINEZ",
        "score": 0.31,
    },
    {"field": "first_name", "source": "ssa", "submitted": "ANA", "reference": "ANA", "score": 1.0},
    {
        "field": "date_of_birth",
        "source": "ssa",
        "submitted": "1990-04-03",
        "reference": "1990-04-03",
        "score": 1.0,
    },
]


def finding(
    *,
    rule: str = "ssa.name_mismatch",
    family: str = "identity_ssa",
    severity: str = "high",
    score: float = 0.9,
    ssn_index: str = "",
    vcase: VerificationCase | None = None,
    employer_id: int | None = None,
    subject_type: str = "worker",
    evidence: str | None = None,
    fields: list[dict[str, Any]] | None = None,
    clerical: bool = False,
) -> Finding:
    """One finding, keyed like the engine's (rule, subject, evidence)."""
    n = next(_seq)
    if vcase is not None:
        ssn_index = ssn_index or vcase.ssn_bidx
        employer_id = employer_id or vcase.employer_id
    subject_key = (
        f"case:{vcase.pk}"
        if vcase is not None
        else (f"employer:{employer_id}" if subject_type == "employer" else f"ssn:{ssn_index}")
    )
    return Finding.objects.create(
        rule_code=rule,
        rule_version=1,
        family=family,
        severity=severity,
        is_clerical=clerical,
        subject_type=subject_type,
        subject_key=subject_key,
        evidence_key=evidence or f"numident:{n}",
        case_id=getattr(vcase, "pk", None),
        employer_id=employer_id,
        ssn_index=ssn_index,
        fields=NAME_FIELDS if fields is None else fields,
        evidence={"compared": "numident"},
        score=score,
        summary=f"Submitted name disagrees with SSA ({rule}).",
    )


@pytest.fixture
def routing(directory: dict[str, Any]) -> RoutingRule:
    """Everything goes to ICE-HSI Worksite A unless a more specific rule says otherwise."""
    return RoutingRule.objects.create(rule_family="", state="", unit=directory["unit_a"])


@pytest.fixture
def acme(db: Any) -> Employer:
    return employer()


@pytest.fixture
def make_case(routing: RoutingRule, acme: Employer):
    """`make_case(ssn=..., **finding kwargs)` ingests one finding about a new person and returns its case."""

    def _make(
        *, ssn: str | None = None, first: str = "Ana", last: str = "Garcia", **kw: Any
    ) -> Case:
        ssn = ssn or f"{600000000 + next(_seq)}"
        vc = verification_case(acme, ssn=ssn, first=first, last=last)
        f = finding(vcase=vc, **kw)
        findings_ingest_all()
        return Case.objects.get(case_findings__finding=f)

    return _make


def grant_under_agreement(
    directory: dict[str, Any], user: Any, *, source: str, scope: dict[str, list[str]]
) -> Any:
    """An active agreement from `source` to the user's agency, and an analyst grant under it."""
    admin = UserFactory(
        username=f"admin-{source}", unit=directory["uscis_monitoring"], roles=[Role.ADMIN]
    )
    today = timezone.localdate()
    agreement = agreement_activate(
        actor=admin,
        agreement=agreement_create(
            actor=admin,
            reference=f"{source}-ice-2026",
            title=f"{source.upper()} to ICE-HSI",
            kind=AgreementKind.MOU,
            source_agency=directory[source],
            recipient_agency=directory["ice"],
            purpose="Worksite enforcement leads.",
            legal_authority="8 U.S.C. 1324a note",
            routine_use=f"{source.upper()} routine use",
            scope=scope,
            effective_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
        ),
    )
    grant_create(actor=admin, user=user, role=Role.ANALYST, agreement=agreement)
    return agreement
