"""Demo directory: departments, agencies, units and one user per persona (development only)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import event_record
from privacy import services
from privacy.models import Agency, Department, Role, Unit, User

DEMO_PASSWORD = "crosscheck-demo-2026"

DEPARTMENTS = [
    ("dhs", "Department of Homeland Security"),
    ("ssa", "Social Security Administration"),
    ("tx", "State of Texas"),
]
AGENCIES = [
    ("dhs", "uscis", "U.S. Citizenship and Immigration Services", "5900 Capital Gateway Dr, Camp Springs, MD 20746"),
    ("dhs", "ice-hsi", "ICE Homeland Security Investigations", "500 12th St SW, Washington, DC 20536"),
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
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in DEPARTMENTS
    }
    agencies = {
        code: Agency.objects.get_or_create(
            code=code, defaults={"department": departments[dept], "name": name, "address": address}
        )[0]
        for dept, code, name, address in AGENCIES
    }
    units = {
        code: Unit.objects.get_or_create(agency=agencies[agency], code=code, defaults={"name": name})[0]
        for agency, code, name in UNITS
    }
    created = []
    out = []
    for persona in PERSONAS:
        user = User.objects.filter(username=persona.username).first()
        if user is None:
            user = services.user_create(
                actor=None, username=persona.username, password=DEMO_PASSWORD,
                agency=agencies[persona.agency], unit=units[persona.unit], roles=list(persona.roles),
                first_name=persona.first, last_name=persona.last, email=f"{persona.username}@example.test",
            )
            if Role.ADMIN in persona.roles:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            created.append(persona.username)
        key = demo_totp_key(persona.username)
        TOTPDevice.objects.get_or_create(user=user, name="Demo authenticator", defaults={"key": key, "confirmed": True})
        out.append((persona, totp_secret_base32(key)))
    if created:
        event_record(action="directory.demo_loaded", detail={"users": created})
    return out
