"""Demo directory: departments, agencies, units, one user per persona, and the agreements and
grants that let each persona work (development only)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import event_record
from privacy import services
from privacy.models import Agency, Agreement, Department, Role, RoleGrant, Unit, User

DEMO_PASSWORD = "crosscheck-demo-2026"

DEPARTMENTS = [
    ("dhs", "Department of Homeland Security"),
    ("ssa", "Social Security Administration"),
    ("tx", "State of Texas"),
]
AGENCIES = [
    (
        "dhs",
        "uscis",
        "U.S. Citizenship and Immigration Services",
        "5900 Capital Gateway Dr, Camp Springs, MD 20746",
    ),
    (
        "dhs",
        "ice-hsi",
        "ICE Homeland Security Investigations",
        "500 12th St SW, Washington, DC 20536",
    ),
    ("ssa", "ssa", "Social Security Administration", "6401 Security Blvd, Baltimore, MD 21235"),
    ("tx", "twc", "Texas Workforce Commission", "101 E 15th St, Austin, TX 78778"),
]
UNITS = [
    ("ice-hsi", "worksite-a", "Worksite Enforcement Unit A"),
    ("ice-hsi", "worksite-b", "Worksite Enforcement Unit B"),
    ("uscis", "monitoring", "E-Verify Monitoring and Compliance"),
    ("uscis", "status", "Status Verification"),
    ("ssa", "numident", "Numident Verification"),
    ("twc", "labor-compliance", "Labor Law Compliance"),
]


@dataclass(frozen=True)
class Persona:
    username: str
    first: str
    last: str
    agency: str
    unit: str
    roles: tuple[str, ...]


PERSONAS = [
    Persona("alice", "Alice", "Analyst", "ice-hsi", "worksite-a", (Role.ANALYST,)),
    Persona("bob", "Bob", "Otherunit", "ice-hsi", "worksite-b", (Role.ANALYST,)),
    Persona("sam", "Sam", "Supervisor", "ice-hsi", "worksite-a", (Role.SUPERVISOR,)),
    Persona("adam", "Adam", "Admin", "uscis", "monitoring", (Role.ADMIN,)),
    Persona("audrey", "Audrey", "Auditor", "uscis", "monitoring", (Role.AUDITOR,)),
    Persona("vera", "Vera", "Verifier", "uscis", "status", (Role.STATUS_VERIFIER,)),
    Persona("sally", "Sally", "Verifier", "ssa", "numident", (Role.STATUS_VERIFIER,)),
    Persona("petra", "Petra", "Partner", "twc", "labor-compliance", (Role.ANALYST,)),
    Persona("eddie", "Eddie", "Expired", "twc", "labor-compliance", (Role.ANALYST,)),
]

_READ = ["view", "search", "export"]


@dataclass(frozen=True)
class DemoAgreement:
    reference: str
    title: str
    kind: str
    source: str
    recipient: str
    scope: dict[str, list[str]]
    grants: tuple[tuple[str, str], ...]  # (username, role)
    expired: bool = False
    ends_in_days: int | None = None  # an agreement about to end (admins' home shows it)


AGREEMENTS = [
    DemoAgreement(
        "uscis-ice-2026",
        "USCIS to ICE-HSI: E-Verify data for worksite enforcement",
        "mou",
        "uscis",
        "ice-hsi",
        {
            "verification_cases": _READ,
            "employer_data": _READ,
            "dhs_immigration": ["view", "search"],
        },
        (("alice", Role.ANALYST), ("bob", Role.ANALYST), ("sam", Role.SUPERVISOR)),
    ),
    DemoAgreement(
        "ssa-ice-2026",
        "SSA to ICE-HSI: Numident extracts for identity leads",
        "mou",
        "ssa",
        "ice-hsi",
        {"ssa_identity": ["view", "search"]},
        (("alice", Role.ANALYST), ("bob", Role.ANALYST), ("sam", Role.SUPERVISOR)),
    ),
    DemoAgreement(
        "ssa-uscis-cma-2026",
        "SSA-DHS computer matching agreement (E-Verify)",
        "matching",
        "ssa",
        "uscis",
        {"ssa_identity": ["view", "search", "change", "run_matching"]},
        (("vera", Role.STATUS_VERIFIER), ("adam", Role.ADMIN)),
    ),
    DemoAgreement(
        "uscis-ssa-2026",
        "USCIS to SSA: E-Verify cases referred to SSA field offices",
        "interconnection",
        "uscis",
        "ssa",
        {"verification_cases": ["view", "search", "change"]},
        (("sally", Role.STATUS_VERIFIER),),
    ),
    DemoAgreement(
        "ice-uscis-cma-2026",
        "ICE-HSI to USCIS: matching E-Verify cases against enforcement subjects",
        "matching",
        "ice-hsi",
        "uscis",
        {"enforcement": ["run_matching"]},
        (("adam", Role.ADMIN),),
    ),
    DemoAgreement(
        "uscis-twc-2026",
        "USCIS to Texas Workforce Commission: employer compliance",
        "mou",
        "uscis",
        "twc",
        {"verification_cases": _READ, "employer_data": ["view", "search"]},
        (("petra", Role.ANALYST),),
    ),
    DemoAgreement(
        "ice-twc-2026",
        "ICE-HSI to Texas Workforce Commission: case handoffs",
        "mou",
        "ice-hsi",
        "twc",
        {"investigations": ["view", "search", "receive_handoff"]},
        (("petra", Role.ANALYST),),
    ),
    DemoAgreement(
        "uscis-twc-2025",
        "USCIS to Texas Workforce Commission (previous edition)",
        "mou",
        "uscis",
        "twc",
        {"verification_cases": _READ, "employer_data": ["view", "search"]},
        (("eddie", Role.ANALYST),),
        expired=True,
    ),
    DemoAgreement(
        "uscis-ice-i9pilot-2025",
        "USCIS to ICE-HSI: Form I-9 inspection pilot",
        "mou",
        "uscis",
        "ice-hsi",
        {"employer_data": ["view"]},
        (("bob", Role.ANALYST),),
        ends_in_days=20,
    ),
]


def demo_totp_key(username: str) -> str:
    """A stable, per-user demo TOTP key (hex), so a second `make run` keeps the same secrets."""
    return hashlib.sha256(f"crosscheck-demo-totp:{username}".encode()).hexdigest()[:40]


def totp_secret_base32(hex_key: str) -> str:
    """The base32 form that authenticator apps take."""
    return base64.b32encode(bytes.fromhex(hex_key)).decode().rstrip("=")


@transaction.atomic
def demo_directory_load() -> list[tuple[Persona, str]]:
    """Create (or keep) the demo directory; returns each persona with its TOTP secret."""
    departments = {
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEPARTMENTS
    }
    agencies = {
        code: Agency.objects.get_or_create(
            code=code, defaults={"department": departments[dept], "name": name, "address": address}
        )[0]
        for dept, code, name, address in AGENCIES
    }
    units = {
        code: Unit.objects.get_or_create(
            agency=agencies[agency], code=code, defaults={"name": name}
        )[0]
        for agency, code, name in UNITS
    }
    created = []
    out = []
    for persona in PERSONAS:
        user = User.objects.filter(username=persona.username).first()
        if user is None:
            user = services.user_create(
                actor=None,
                username=persona.username,
                password=DEMO_PASSWORD,
                agency=agencies[persona.agency],
                unit=units[persona.unit],
                roles=list(persona.roles),
                first_name=persona.first,
                last_name=persona.last,
                email=f"{persona.username}@example.test",
            )
            if Role.ADMIN in persona.roles:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            created.append(persona.username)
        key = demo_totp_key(persona.username)
        TOTPDevice.objects.get_or_create(
            user=user, name="Demo authenticator", defaults={"key": key, "confirmed": True}
        )
        out.append((persona, totp_secret_base32(key)))
    _demo_agreements_load(agencies)
    if created:
        event_record(action="directory.demo_loaded", detail={"users": created})
    return out


def _demo_agreements_load(agencies: dict[str, Agency]) -> None:
    """The demo agreements and the grants under them; the expired one ran until yesterday."""

    admin = User.objects.get(username="adam")
    today = timezone.localdate()
    for spec in AGREEMENTS:
        if Agreement.objects.filter(reference=spec.reference).exists():
            continue
        effective = today - timedelta(days=400 if spec.expired or spec.ends_in_days else 30)
        ends = (
            today + timedelta(days=spec.ends_in_days)
            if spec.ends_in_days
            else effective + timedelta(days=500)
        )
        agreement = services.agreement_create(
            actor=admin,
            reference=spec.reference,
            title=spec.title,
            kind=spec.kind,
            source_agency=agencies[spec.source],
            recipient_agency=agencies[spec.recipient],
            purpose="Demo: " + spec.title,
            legal_authority="8 U.S.C. 1324a note (IIRIRA 403)",
            routine_use="DHS/USCIS-011 E-Verify Program SORN, routine use H",
            scope=spec.scope,
            justification="Demo data" if spec.kind == "matching" else "",
            effective_on=effective,
            expires_on=today if spec.expired else ends,
        )
        if spec.kind == "matching":
            services.agreement_approve(
                actor=admin, agreement=agreement, dib_reference="DIB-DEMO-2026-01"
            )
            services.agreement_document_upload(
                actor=admin,
                agreement=agreement,
                document=ContentFile(b"%PDF-1.4\n% demo\n", name="signed.pdf"),
            )
        services.agreement_activate(actor=admin, agreement=agreement)
        for username, role in spec.grants:
            user = User.objects.get(username=username)
            grant = services.grant_create(
                actor=admin,
                user=user,
                role=role,
                agreement=agreement,
                valid_from=effective,
                valid_until=ends if spec.ends_in_days else None,
            )
            if spec.expired:
                RoleGrant.objects.filter(pk=grant.pk).update(valid_until=today - timedelta(days=1))
        if spec.expired:
            # It ran until yesterday; the nightly job marks it expired, but access stopped at the date.
            Agreement.objects.filter(pk=agreement.pk).update(expires_on=today - timedelta(days=1))
