"""Verification fixtures: an enrolled employer, reference files loaded through the real loader."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import TEST_PASSWORD
from verification import services
from verification.loading import COLUMNS, load_reference
from verification.models import Employer
from verification.services import portal

CANARY_SSN = "521874390"


@pytest.fixture
def employer(adam: Any) -> Employer:
    """Acme Farms, enrolled by adam."""
    return services.employer_enrol(
        actor=adam,
        ein="12-3456789",
        name="Acme Farms",
        naics="111998",
        state="TX",
        mou_signed_on=date(2024, 1, 5),
    )


@pytest.fixture
def other_employer(adam: Any) -> Employer:
    """Another employer, whose cases Acme's key must never see."""
    return services.employer_enrol(
        actor=adam,
        ein="98-7654321",
        name="Other Co",
        naics="236220",
        state="CA",
        mou_signed_on=date(2023, 6, 1),
    )


def write_csv(path: Path, source: str, rows: list[dict[str, Any]]) -> Path:
    """A reference file in the loader's format; missing columns are empty."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS[source])
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS[source]})
    return path


@pytest.fixture
def load_ref(tmp_path: Path):
    """`load_ref(source, rows)` loads rows through load_reference as the source's current vintage."""
    counter = {"n": 0}

    def _load(source: str, rows: list[dict[str, Any]], **kwargs: Any):
        counter["n"] += 1
        path = write_csv(tmp_path / f"{source}-{counter['n']}.csv", source, rows)
        return load_reference(source=source, path=path, **kwargs)

    return _load


def person(ssn: str = CANARY_SSN, **overrides: Any) -> dict[str, Any]:
    """A Numident row of a lawful citizen."""
    row = {
        "ssn": ssn,
        "first_name": "Maria",
        "middle_name": "",
        "last_name": "Garcia Lopez",
        "date_of_birth": "1990-04-12",
        "citizenship": "citizen",
        "death_date": "",
        "locked": "false",
    }
    row.update(overrides)
    return row


def i9(**overrides: Any) -> dict[str, Any]:
    """Valid I-9 data of a citizen hired today, matching `person()`."""
    today = date.today()
    data: dict[str, Any] = {
        "first_name": "Maria",
        "last_name": "Garcia Lopez",
        "middle_initial": "",
        "other_last_names": "",
        "date_of_birth": date(1990, 4, 12),
        "ssn": "521-87-4390",
        "citizenship_status": "citizen",
        "document_type": "us_passport",
        "document_number": "X1234567",
        "document_expires_on": today + timedelta(days=900),
        "offer_accepted_on": today - timedelta(days=5),
        "i9_completed_on": today - timedelta(days=1),
        "hire_date": today,
        "employee_email": "",
        "employer_case_id": "",
    }
    data.update(overrides)
    return data


def create(employer, submit=True, **overrides):
    """A case through the submit service (a rehire, so repeated SSNs in one test are not refused)."""
    overrides.setdefault("duplicate_reason", "rehire")
    return services.case_create(actor=None, employer=employer, data=i9(**overrides), submit=submit)


def tnc(employer):
    """John Smith on Maria's SSN: a tentative nonconfirmation from SSA."""
    return create(employer, first_name="John", last_name="Smith")


def referred(employer):
    """A TNC the employee chose to contest, referred to SSA."""
    case = tnc(employer)
    services.case_fan_issue(actor=None, case=case)
    services.case_decide(actor=None, case=case, decision="take_action")
    return services.case_refer(actor=None, case=case)


@pytest.fixture
def ssa(load_ref):
    """Numident with Maria Garcia Lopez (SSN 521-87-4390) and a few others."""
    return load_ref(
        "ssa",
        [
            person(),
            person(
                "234567890",
                first_name="José",
                last_name="Hernández-Díaz",
                date_of_birth="1985-11-03",
            ),
            person("345678901", first_name="Deceased", last_name="Person", death_date="2020-01-01"),
            person("456789012", first_name="Locked", last_name="Person", locked="true"),
            person(
                "567890123",
                first_name="Nadia",
                last_name="Haddad",
                citizenship="alien_authorized",
                date_of_birth="1992-02-20",
            ),
            person(
                "678901234",
                first_name="Li",
                last_name="Wei",
                citizenship="alien_authorized",
                date_of_birth="1988-07-01",
            ),
        ],
    )


@pytest.fixture
def api_client_for(adam: Any):
    """`api_client_for(employer)` gives a DRF client carrying a fresh API key of that employer."""
    from rest_framework.test import APIClient

    def _client(employer: Employer) -> APIClient:
        _, raw = services.apikey_issue(actor=adam, employer=employer, label="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return _client


# --- Employer portal people -------------------------------------------------------------------
def activate(user: Any) -> Any:
    """What the invitee does with the e-mailed link: a password, then an authenticator."""
    user.set_password(TEST_PASSWORD)
    user.save()
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def invited(
    actor: Any, employer: Any, username: str, email: str, name: str, *, admin: bool = False
):
    """A person invited to the employer's portal (its administrator with `admin`), who accepted."""
    invite = portal.employer_admin_invite if admin else portal.employer_user_invite
    first, last = name.split(" ", 1)
    access, _ = invite(
        actor=actor,
        employer=employer,
        username=username,
        email=email,
        first_name=first,
        last_name=last,
    )
    return activate(access.user)


@pytest.fixture
def erin(adam, employer):
    return invited(adam, employer, "erin", "erin@acme.test", "Erin Acme", admin=True)


@pytest.fixture
def ulla(erin, employer):
    return invited(erin, employer, "ulla", "ulla@acme.test", "Ulla User")
