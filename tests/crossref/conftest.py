"""A small hand-built world for the engine: employers, reference loads, cases, and an agreement.

Cases are written straight to the tables (the rules read tables, not services), with their
identifiers encrypted and blind-indexed exactly as privacy.crypto does it.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from crossref import sources
from crossref.instant import case_findings_record
from privacy import crypto
from privacy.models import Role
from tests.factories import UnitFactory, UserFactory
from verification.instant import Submitted, instant_result
from verification.models import (
    Employer,
    EnforcementSubject,
    ImmigrationRecord,
    Numident,
    ReferenceLoad,
    VerificationCase,
    Worker,
)

_ein = itertools.count(100000001)
_case = itertools.count(1)


class World:
    """Builders for reference records and cases."""

    def __init__(self) -> None:
        self.loads = {
            src: ReferenceLoad.objects.create(
                source=src,
                source_agency={"ssa": "ssa", "dhs": "uscis", "enforcement": "ice-hsi"}[src],
                file_name=f"{src}.csv",
                vintage=date(2026, 1, 1),
                checksum="0" * 64,
                status="current",
            )
            for src in ("ssa", "dhs", "enforcement")
        }

    def employer(
        self,
        *,
        naics: str = "236220",
        state: str = "TX",
        mou: date = date(2015, 1, 1),
        federal: bool = False,
    ) -> Employer:
        return Employer.objects.create(
            ein=str(next(_ein)),
            name=f"Employer {naics}",
            naics=naics,
            state=state,
            mou_signed_on=mou,
            is_federal_contractor=federal,
        )

    def numident(
        self,
        ssn: str,
        first: str,
        last: str,
        dob: date,
        *,
        citizenship: str = "citizen",
        death: date | None = None,
        locked: bool = False,
        middle: str = "",
    ) -> Numident:
        n = Numident.objects.create(
            load=self.loads["ssa"],
            ssn_enc="x",
            ssn_bidx=crypto.blind_index(ssn, kind="ssn"),
            ssn_last4=ssn[-4:],
            first_name=first,
            middle_name=middle,
            last_name=last,
            date_of_birth=dob,
            citizenship=citizenship,
            death_date=death,
            locked=locked,
        )
        Numident.objects.filter(pk=n.pk).update(
            ssn_enc=crypto.encrypt(ssn, table=sources.NUMIDENT, column="ssn_enc", row_id=n.pk)
        )
        return n

    def dhs(
        self,
        *,
        a_number: str = "",
        first: str,
        last: str,
        dob: date,
        start: date | None = None,
        until: date | None = None,
        naturalized: date | None = None,
        i94: str = "",
        passport: str = "",
        country: str = "",
    ) -> ImmigrationRecord:
        return ImmigrationRecord.objects.create(
            load=self.loads["dhs"],
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            country_of_birth=country,
            work_authorized_from=start,
            work_authorized_until=until,
            naturalized_on=naturalized,
            **documents(a_number=a_number, i94=i94, passport=passport),
        )

    def subject(
        self,
        ref: str,
        first: str,
        last: str,
        dob: date | None,
        *,
        aliases: list[str] | None = None,
        docs: list[tuple[str, str]] | None = None,
        nationality: str = "",
    ) -> EnforcementSubject:
        subject = EnforcementSubject.objects.create(
            load=self.loads["enforcement"],
            subject_ref=ref,
            nationality=nationality,
            first_name=first,
            last_name=last,
            aliases=aliases or [],
            date_of_birth=dob,
            documents_bidx=[crypto.blind_index(v, kind=k) for k, v in (docs or [])],
            documents_kind=[k for k, _ in (docs or [])],
            status="wanted",
        )
        # Sealed as the loader seals them (verification.copying): per row and array position.
        subject.documents_enc = [
            crypto.encrypt(
                v, table=sources.ENFORCEMENT, column=f"documents_enc[{i}]", row_id=subject.pk
            )
            for i, (_, v) in enumerate(docs or [])
        ]
        subject.save(update_fields=["documents_enc"])
        return subject

    def case(
        self, employer: Employer, ssn: str, first: str, last: str, dob: date, **extra: Any
    ) -> VerificationCase:
        hire = extra.pop("hire_date", date(2026, 3, 2))
        created = extra.pop(
            "created_at",
            timezone.make_aware(timezone.datetime.combine(hire, timezone.datetime.min.time())),
        )
        docs = documents(
            a_number=extra.pop("a_number", ""),
            i94=extra.pop("i94", ""),
            passport=extra.pop("passport", ""),
        )
        bidx = crypto.blind_index(ssn, kind="ssn")
        worker, _ = Worker.objects.get_or_create(
            employer=employer,
            ssn_bidx=bidx,
            defaults={
                "ssn_last4": ssn[-4:],
                "first_name": first,
                "last_name": last,
                "date_of_birth": dob,
            },
        )
        fields: dict[str, Any] = {
            "employer": employer,
            "worker": worker,
            "first_name": first,
            "last_name": last,
            "date_of_birth": dob,
            "ssn_enc": "x",
            "ssn_bidx": bidx,
            "ssn_last4": ssn[-4:],
            "citizenship_status": "citizen",
            "document_type": "us_passport",
            "offer_accepted_on": hire - timedelta(days=7),
            "i9_completed_on": hire,
            "hire_date": hire,
            "status": "employment_authorized",
            "submitted_at": created,
            "created_at": created,
            "employer_case_id": f"E{next(_case)}",
        }
        fields.update(docs)
        fields.update(extra)
        c = VerificationCase.objects.create(**fields)
        VerificationCase.objects.filter(pk=c.pk).update(
            ssn_enc=crypto.encrypt(
                ssn, table=sources.CASES, column=sources.CASE_SSN_COLUMN, row_id=c.pk
            )
        )
        return c


def submit_instant(case: VerificationCase, ssn: str, **ids: str) -> dict[str, int]:
    """The submit's path for a hand-built case: verification's instant result, then crossref's
    listener over the rows it read (rule -> new findings). `ids` are the clear document numbers
    the case was built with (a_number, i94, passport)."""
    result = instant_result(
        Submitted(
            first_name=case.first_name,
            last_name=case.last_name,
            other_last_names=case.other_last_names,
            date_of_birth=case.date_of_birth,
            ssn=ssn,
            citizenship_status=case.citizenship_status,
            hire_date=case.hire_date,
            **ids,
        ),
        today=timezone.localdate(),
    )
    return case_findings_record(case=case, result=result)


def documents(**numbers: str) -> dict[str, str]:
    """The blind index and last four of each document number given (a_number, i94, passport), as a record holds them."""
    out = {}
    for prefix, value in numbers.items():
        if value:
            out.update(
                {
                    f"{prefix}_bidx": crypto.blind_index(value, kind=prefix),
                    f"{prefix}_last4": value[-4:],
                }
            )
    return out


@pytest.fixture
def world(db: Any) -> World:
    return World()


@pytest.fixture
def matcher(directory: dict[str, Any]) -> Any:
    """An ICE-HSI supervisor under an active matching agreement with SSA and USCIS covering every category."""
    from privacy.models import Agreement, RoleGrant

    unit = UnitFactory(agency=directory["ice"], code="matching", name="Matching")
    user = UserFactory(username="mona", unit=unit, roles=[Role.SUPERVISOR])
    today = timezone.localdate()
    for source in ("ssa", "uscis"):
        agreement = Agreement.objects.create(
            reference=f"cma-{source}",
            title=f"CMA {source}",
            kind="matching",
            source_agency=directory[source],
            recipient_agency=directory["ice"],
            purpose="Matching",
            legal_authority="8 U.S.C. 1324a",
            scope={
                c: ["run_matching", "view"]
                for c in (
                    "ssa_identity",
                    "dhs_immigration",
                    "verification_cases",
                    "employer_data",
                    "enforcement",
                )
            },
            effective_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
            status="active",
        )
        RoleGrant.objects.create(
            user=user,
            role=Role.SUPERVISOR,
            agreement=agreement,
            valid_from=today - timedelta(days=30),
        )
    return user
