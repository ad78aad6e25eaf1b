"""Departments, agencies, units and users: who may act, and for which agency."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.models import BaseModel


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Admin"
    AUDITOR = "auditor", "Auditor"
    STATUS_VERIFIER = "status_verifier", "Status verifier"
    # People of an E-Verify employer (or of an agent acting for several): no agency, no data
    # category through the policy; which employers they act for is verification's EmployerAccess.
    EMPLOYER_ADMIN = "employer_admin", "Employer administrator"
    EMPLOYER_USER = "employer_user", "Employer user"


# Roles held by people outside every agency (the employer portal's users).
EMPLOYER_ROLES = frozenset({Role.EMPLOYER_ADMIN, Role.EMPLOYER_USER})


class Department(BaseModel):
    """A federal department or a state government; crossing departments is a disclosure."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agency(BaseModel):
    """A component of a department (USCIS and ICE-HSI of DHS, SSA of SSA, a state labor office)."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="agencies")
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    address = models.TextField(
        blank=True, help_text="Postal address, for the accounting of disclosures."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.name} ({self.department.code.upper()})"


class Unit(BaseModel):
    """A team inside an agency; flagged cases are routed to units."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="units")
    code = models.SlugField(max_length=48)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["agency__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="unit_code_unique_per_agency")
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.agency.code.upper()}"


class User(AbstractUser):
    """A person who signs in. Belongs to one agency and unit, and holds home-agency roles."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    roles = ArrayField(
        models.CharField(max_length=32, choices=Role.choices),
        default=list,
        blank=True,
        help_text="Roles over the home agency's own data; roles over other agencies' data are grants.",
    )

    objects = UserManager()  # type: ignore[misc]  # django-stubs types AbstractUser.objects as a ClassVar

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True)
                | models.Q(agency__isnull=False)
                | (
                    models.Q(roles__contained_by=["employer_admin", "employer_user"])
                    & ~models.Q(roles=[])
                ),
                name="user_has_agency_unless_superuser",
            ),
            # An employer's people hold employer roles only, and belong to no agency.
            models.CheckConstraint(
                condition=models.Q(agency__isnull=True)
                | ~models.Q(roles__overlap=["employer_admin", "employer_user"]),
                name="user_employer_roles_without_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_role(self, role: str) -> bool:
        """True if the user holds `role` in their home agency."""
        return role in (self.roles or [])

    @property
    def is_employer_user(self) -> bool:
        """True for the people of an employer (portal users), who belong to no agency."""
        return bool(set(self.roles or []) & EMPLOYER_ROLES)
