"""Employers, workers, verification cases, reference sources and employer API keys."""

from verification.models.cases import (
    CaseComparison,
    CaseStatus,
    CitizenshipStatus,
    ClosureCode,
    ComparisonOutcome,
    DocumentType,
    DuplicateReason,
    EmployeeDecision,
    IdempotencyRecord,
    LateReason,
    TncSource,
    VerificationCase,
    Worker,
)
from verification.models.employers import Employer, EmployerApiKey, EmployerStatus, HiringSite
from verification.models.reference import (
    EnforcementSubject,
    ImmigrationRecord,
    LoadStatus,
    Numident,
    NumidentCitizenship,
    ReferenceLoad,
    ReferenceSource,
)

__all__ = [
    "CaseComparison",
    "CaseStatus",
    "CitizenshipStatus",
    "ClosureCode",
    "ComparisonOutcome",
    "DocumentType",
    "DuplicateReason",
    "EmployeeDecision",
    "Employer",
    "EmployerApiKey",
    "EmployerStatus",
    "EnforcementSubject",
    "HiringSite",
    "IdempotencyRecord",
    "ImmigrationRecord",
    "LateReason",
    "LoadStatus",
    "Numident",
    "NumidentCitizenship",
    "ReferenceLoad",
    "ReferenceSource",
    "TncSource",
    "VerificationCase",
    "Worker",
]
