"""One verification case of a synthetic world as one line of PostgreSQL's COPY text format.

The case table has over sixty columns; a line sets the ones a case varies in (`_VAR_COLUMNS`,
from `synthetic.columns.case_values`, with its identifiers sealed: AES-GCM bound to the row id,
blind index, last four), and ends with one constant suffix holding every other column's default.
"""

from __future__ import annotations

import operator
from typing import Any

from django.db.models import BooleanField, CharField, EmailField, TextField

from privacy import crypto
from synthetic import columns as cols
from verification.identifiers import KINDS
from verification.models import VerificationCase


def _template(model: Any) -> tuple[list[str], list[str], dict[str, int]]:
    """Columns of a model, the COPY default of each, and their positions."""
    columns, defaults = [], []
    for f in model._meta.concrete_fields:
        columns.append(f.column)
        if f.null:
            defaults.append("\\N")
        elif isinstance(f, BooleanField):
            defaults.append("f")
        elif isinstance(f, CharField | TextField | EmailField):
            defaults.append(f.default if isinstance(f.default, str) else "")
        else:
            defaults.append("")  # must be set per row
    return columns, defaults, {c: i for i, c in enumerate(columns)}


CASE_COLUMNS, CASE_DEFAULTS, CASE_POS = _template(VerificationCase)
CASE_TABLE = VerificationCase._meta.db_table


# Where each field sits in `case_values`.
FIELD = {name: i for i, name in enumerate(cols.CASE_FIELDS)}
# Columns each case line sets, in this order; every other column takes its constant default.
_VAR_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "status_changed_at",
    "submitted_at",
    "employer_id",
    "hiring_site_id",
    "worker_id",
    "employer_case_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "citizenship_status",
    "passport_country",
    "work_authorization_expires_on",
    "document_type",
    "document_expires_on",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "late_reason",
    "status",
    "result",
    "tnc_source",
    "tnc_issued_on",
    "fan_issued_on",
    "decision",
    "referred_on",
    "closure_code",
    "closure_text",
    "closed_at",
    "ssn_enc",
    "ssn_bidx",
    "ssn_last4",
    "a_number_enc",
    "a_number_bidx",
    "a_number_last4",
    "i94_enc",
    "i94_bidx",
    "i94_last4",
    "passport_enc",
    "passport_bidx",
    "passport_last4",
    "document_number_enc",
    "document_number_bidx",
    "document_number_last4",
]
_CONST_COLUMNS = [c for c in CASE_COLUMNS if c not in _VAR_COLUMNS]
CASE_COPY_COLUMNS = _VAR_COLUMNS + _CONST_COLUMNS
_CONST_SUFFIX = "".join("\t" + CASE_DEFAULTS[CASE_POS[c]] for c in _CONST_COLUMNS) + "\n"
_NULL = "\\N"
_V = [
    FIELD[name]
    for name in (
        "employer_case_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "citizenship_status",
        "passport_country",
        "work_authorization_expires_on",
        "document_type",
        "document_expires_on",
        "offer_accepted_on",
        "i9_completed_on",
        "hire_date",
        "late_reason",
        "status",
        "result",
        "tnc_source",
        "tnc_issued_on",
        "fan_issued_on",
        "decision",
        "referred_on",
        "closure_code",
        "closure_text",
        "closed_at",
    )
]
_NULLABLE_V = {
    FIELD[name]
    for name in (
        "work_authorization_expires_on",
        "document_expires_on",
        "tnc_issued_on",
        "fan_issued_on",
        "referred_on",
        "closed_at",
    )
}
_SSN, _CREATED_AT = FIELD["ssn"], FIELD["created_at"]
_IDS = [(FIELD[prefix], prefix) for prefix in ("a_number", "i94", "passport", "document_number")]


_TAKE_V = operator.itemgetter(*_V)
_NULLABLE_AT = [k for k, i in enumerate(_V) if i in _NULLABLE_V]
_ID_COLUMNS = [(i, f"{prefix}_enc", KINDS[prefix]) for i, prefix in _IDS]


def case_line(
    values: list[str],
    *,
    case_id: int,
    employer_id: int,
    site_id: int | None,
    worker_id: int,
    ssn_bidx: str,
    key: bytes,
    ring: crypto.Keyring,
) -> str:
    """One case (`values` as `synthetic.columns.case_values` gives them) as a COPY line of
    `CASE_COPY_COLUMNS`: its ids, the I-9 fields, its identifiers sealed, the constant defaults."""
    created_at = values[_CREATED_AT]
    ssn = values[_SSN]
    taken = list(_TAKE_V(values))
    for k in _NULLABLE_AT:
        if not taken[k]:
            taken[k] = _NULL
    encrypt, blind_index = crypto.encrypt, crypto.blind_index
    out = [
        str(case_id),
        created_at,
        created_at,
        created_at,
        created_at,
        str(employer_id),
        str(site_id) if site_id is not None else _NULL,
        str(worker_id),
        *taken,
        encrypt(ssn, table=CASE_TABLE, column="ssn_enc", row_id=case_id, ring=ring),
        ssn_bidx,
        ssn[-4:],
    ]
    for i, column, kind in _ID_COLUMNS:
        value = values[i]
        if value:
            out += (
                encrypt(value, table=CASE_TABLE, column=column, row_id=case_id, ring=ring),
                blind_index(value, kind=kind, key=key),
                value[-4:],
            )
        else:
            out += ("", "", "")
    return "\t".join(out) + _CONST_SUFFIX
