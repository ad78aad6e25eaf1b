"""The one persona list (STYLE.md rule 12), defined once for every test.

Personas: anonymous; analyst of the owning unit (alice) and of another unit (bob); supervisor
(sam); admin (adam); auditor (audrey); status verifiers at SSA (sally) and USCIS (vera); partner
user under an active agreement (petra) and one whose agreement expired (eddie); employer API key.
petra holds analyst grants under the active MOUs of `partner_agreements` (USCIS to TWC: verification
cases and employer data; ICE-HSI to TWC: investigations and handoffs); eddie holds the same grants
under `expired_agreements`, which ran until yesterday (status still "active": the date alone cuts
access). The employer API key comes from the verification fixtures.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.translations import compile_all
from privacy.models import Agreement, AgreementKind, Role, RoleGrant, User
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.factories import (
    TEST_PASSWORD,
    AgencyFactory,
    DepartmentFactory,
    UnitFactory,
    UserFactory,
)


def pytest_sessionstart(session: Any) -> None:
    """The translation catalogues compiled as `make install` does, when a .po is newer than its
    .mo (a checkout that pulled a catalogue change without reinstalling)."""
    compile_all([Path(__file__).resolve().parent.parent / "locale"])


@pytest.fixture
def directory(db: Any) -> dict[str, Any]:
    """Departments, agencies and units shaped like production: DHS (USCIS, ICE-HSI), SSA, a state."""
    dhs = DepartmentFactory(code="dhs", name="Department of Homeland Security")
    ssa_dept = DepartmentFactory(code="ssa", name="Social Security Administration")
    state = DepartmentFactory(code="tx", name="State of Texas")
    ice = AgencyFactory(code="ice-hsi", name="ICE HSI", department=dhs)
    uscis = AgencyFactory(code="uscis", name="USCIS", department=dhs)
    ssa = AgencyFactory(code="ssa", name="SSA", department=ssa_dept)
    twc = AgencyFactory(code="twc", name="Texas Workforce Commission", department=state)
    return {
        "dhs": dhs,
        "ssa_dept": ssa_dept,
        "state": state,
        "ice": ice,
        "uscis": uscis,
        "ssa": ssa,
        "twc": twc,
        "unit_a": UnitFactory(agency=ice, code="worksite-a", name="Worksite A"),
        "unit_b": UnitFactory(agency=ice, code="worksite-b", name="Worksite B"),
        "uscis_monitoring": UnitFactory(agency=uscis, code="monitoring", name="Monitoring"),
        "uscis_status": UnitFactory(agency=uscis, code="status", name="Status Verification"),
        "ssa_numident": UnitFactory(agency=ssa, code="numident", name="Numident"),
        "twc_unit": UnitFactory(agency=twc, code="labor", name="Labor Compliance"),
    }


@pytest.fixture
def alice(directory: dict[str, Any]) -> User:
    """Analyst of the owning unit (ICE-HSI Worksite A)."""
    return UserFactory(username="alice", unit=directory["unit_a"], roles=[Role.ANALYST])


@pytest.fixture
def bob(directory: dict[str, Any]) -> User:
    """Analyst of another unit (ICE-HSI Worksite B)."""
    return UserFactory(username="bob", unit=directory["unit_b"], roles=[Role.ANALYST])


@pytest.fixture
def sam(directory: dict[str, Any]) -> User:
    """Supervisor of Worksite A."""
    return UserFactory(username="sam", unit=directory["unit_a"], roles=[Role.SUPERVISOR])


@pytest.fixture
def adam(directory: dict[str, Any]) -> User:
    """Admin (USCIS)."""
    return UserFactory(
        username="adam", unit=directory["uscis_monitoring"], roles=[Role.ADMIN], is_staff=True
    )


@pytest.fixture
def audrey(directory: dict[str, Any]) -> User:
    """Auditor: reads audit trails and reports, no case work."""
    return UserFactory(username="audrey", unit=directory["uscis_monitoring"], roles=[Role.AUDITOR])


@pytest.fixture
def vera(directory: dict[str, Any]) -> User:
    """Status verifier at USCIS."""
    return UserFactory(
        username="vera", unit=directory["uscis_status"], roles=[Role.STATUS_VERIFIER]
    )


@pytest.fixture
def sally(directory: dict[str, Any]) -> User:
    """Status verifier at SSA."""
    return UserFactory(
        username="sally", unit=directory["ssa_numident"], roles=[Role.STATUS_VERIFIER]
    )


@pytest.fixture
def petra(directory: dict[str, Any], partner_agreements: dict[str, Any]) -> User:
    """Partner-agency analyst (state labor department) with grants under the active agreements."""
    user = UserFactory(username="petra", unit=directory["twc_unit"], roles=[Role.ANALYST])
    for key, agreement in partner_agreements.items():
        if key != "admin":
            grant_create(
                actor=partner_agreements["admin"], user=user, role=Role.ANALYST, agreement=agreement
            )
    return user


@pytest.fixture
def eddie(directory: dict[str, Any], expired_agreements: dict[str, Any]) -> User:
    """Partner-agency analyst whose agreements expired yesterday (their status still says active)."""
    user = UserFactory(username="eddie", unit=directory["twc_unit"], roles=[Role.ANALYST])
    yesterday = timezone.localdate() - timedelta(days=1)
    for key, agreement in expired_agreements.items():
        if key == "admin":
            continue
        grant = grant_create(
            actor=expired_agreements["admin"],
            user=user,
            role=Role.ANALYST,
            agreement=agreement,
            valid_from=agreement.effective_on,
        )
        RoleGrant.objects.filter(pk=grant.pk).update(valid_until=yesterday)
        # The agreement ran until yesterday; the nightly job has not marked it expired yet.
        Agreement.objects.filter(pk=agreement.pk).update(expires_on=yesterday)
    return user


# --- Agreements behind the partner personas (privacy) -----------------------------------------
PARTNER_SCOPE = {
    "verification_cases": ["view", "search", "export"],
    "employer_data": ["view", "search"],
}
HANDOFF_SCOPE = {"investigations": ["view", "search", "receive_handoff"]}


def _partner_agreement(
    directory: dict[str, Any],
    admin: User,
    *,
    reference: str,
    source: str,
    scope: dict[str, list[str]],
    effective_on: Any,
    expires_on: Any,
) -> Agreement:
    agreement = agreement_create(
        actor=admin,
        reference=reference,
        title=f"{directory[source].code.upper()} to TWC data sharing",
        kind=AgreementKind.MOU,
        source_agency=directory[source],
        recipient_agency=directory["twc"],
        purpose="State labor-law compliance checks of E-Verify employers.",
        legal_authority="8 U.S.C. 1324a note; Tex. Lab. Code 21",
        routine_use="DHS/USCIS-011 routine use H",
        scope=scope,
        effective_on=effective_on,
        expires_on=expires_on,
    )
    return agreement_activate(actor=admin, agreement=agreement)


def _privacy_admin(directory: dict[str, Any]) -> User:
    return UserFactory(
        username="privacy-admin",
        unit=directory["uscis_monitoring"],
        roles=[Role.ADMIN],
        is_staff=True,
    )


@pytest.fixture
def partner_agreements(directory: dict[str, Any]) -> dict[str, Any]:
    """Active MOUs from USCIS (verification cases, employer data) and ICE-HSI (handoffs) to TWC."""
    admin = _privacy_admin(directory)
    today = timezone.localdate()
    return {
        "admin": admin,
        "uscis": _partner_agreement(
            directory,
            admin,
            reference="uscis-twc-2026",
            source="uscis",
            scope=PARTNER_SCOPE,
            effective_on=today - timedelta(days=60),
            expires_on=today + timedelta(days=300),
        ),
        "ice": _partner_agreement(
            directory,
            admin,
            reference="ice-twc-2026",
            source="ice",
            scope=HANDOFF_SCOPE,
            effective_on=today - timedelta(days=60),
            expires_on=today + timedelta(days=300),
        ),
    }


@pytest.fixture
def expired_agreements(directory: dict[str, Any]) -> dict[str, Any]:
    """The same MOUs in an earlier edition that ran until yesterday (eddie's)."""
    admin = _privacy_admin(directory)
    today = timezone.localdate()
    return {
        "admin": admin,
        "uscis": _partner_agreement(
            directory,
            admin,
            reference="uscis-twc-2025",
            source="uscis",
            scope=PARTNER_SCOPE,
            effective_on=today - timedelta(days=365),
            expires_on=today,
        ),
        "ice": _partner_agreement(
            directory,
            admin,
            reference="ice-twc-2025",
            source="ice",
            scope=HANDOFF_SCOPE,
            effective_on=today - timedelta(days=365),
            expires_on=today,
        ),
    }


def current_code(user: User) -> str:
    """The user's current TOTP code, as an authenticator app would show it."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(client: Client, user: User, *, verify: bool = True) -> Client:
    """Sign in through the real login form, and pass 2FA unless verify=False."""
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    if verify:
        response = client.post("/accounts/2fa/verify/", {"token": current_code(user)})
        assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def login():
    """`login(user)` gives a client signed in (and 2FA-verified) as that user."""

    def _login(user: User, *, verify: bool = True) -> Client:
        return sign_in(Client(), user, verify=verify)

    return _login


@pytest.fixture
def api_key(adam: User) -> Any:
    """Employer API key persona: an enrolled employer's key (`.raw` is the clear key, `.employer`)."""
    from datetime import date

    from verification.services import apikey_issue, employer_enrol

    employer = employer_enrol(
        actor=adam,
        ein="45-1234567",
        name="Keyholder Foods",
        naics="311812",
        state="TX",
        mou_signed_on=date(2024, 3, 1),
    )
    key, raw = apikey_issue(actor=adam, employer=employer, label="payroll")
    key.raw = raw
    return key


@pytest.fixture
def smtp(settings: Any) -> Any:
    """A real SMTP server for this test, with Django's SMTP backend sending to it."""
    from tests.smtp import start_smtp

    controller, sink = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    yield sink
    controller.stop()
