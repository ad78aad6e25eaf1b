"""Synthetic new hires shared by the import bench and the import chaos phase: for person `i`, the
SSA Numident row, the DHS row (permanent residents, about 10%) and the import file's row.

About 1.5% carry a given name SSA does not match and 0.5% an SSN SSA does not know. Synthetic
only: valid-looking SSNs in area 001-665, never a real person's record.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

FIRST = [
    "Maria",
    "Jose",
    "Ana",
    "Luis",
    "Wei",
    "Li",
    "John",
    "Mary",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Nguyen",
    "Priya",
    "Raj",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Aisha",
]
LAST = [
    "Garcia",
    "Smith",
    "Hernandez Diaz",
    "Nguyen",
    "Kim",
    "Patel",
    "Johnson",
    "Lopez",
    "Haddad",
    "Okafor",
    "Ivanova",
    "Martinez",
    "Brown",
    "Rossi",
    "Silva",
    "Chen",
    "Khan",
    "Murphy",
]


def ssn_of(i: int) -> str:
    area = 1 + i % 665  # 001-665: never 000, 666 or 9xx
    group = 1 + (i // 665) % 99
    serial = 1 + (i // (665 * 99)) % 9999
    return f"{area:03d}{group:02d}{serial:04d}"


def person(
    i: int, rnd: random.Random, today: date
) -> tuple[list[str], list[str] | None, dict[str, str]]:
    """Person `i`: the SSA row, the DHS row (permanent residents) and the import row."""
    ssn = ssn_of(i * 7 + 3)
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    born = date(1950, 1, 1) + timedelta(days=rnd.randrange(18000))
    lpr, roll = rnd.random() < 0.10, rnd.random()
    ssa = [
        ssn,
        first,
        "",
        last,
        born.isoformat(),
        "alien_authorized" if lpr else "citizen",
        "",
        "false",
    ]
    a_number = f"A{200000000 + i:09d}"
    dhs = (
        [a_number, "", "", "", first, last, born.isoformat(), "MEX", "IR1", "", "", ""]
        if lpr
        else None
    )
    row = {
        # about 1.5% with a name SSA does not match; 0.5% with an SSN SSA does not know
        "first_name": first if roll >= 0.02 or roll < 0.005 else rnd.choice(FIRST[::-1]) + "x",
        "last_name": last,
        "date_of_birth": born.isoformat(),
        "ssn": f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}",
        "citizenship_status": "permanent_resident" if lpr else "citizen",
        "a_number": a_number if lpr else "",
        "document_type": "permanent_resident_card" if lpr else "us_passport",
        "document_number": f"P{i:08d}",
        "document_expires_on": (today + timedelta(days=900)).isoformat(),
        "offer_accepted_on": (today - timedelta(days=6)).isoformat(),
        "i9_completed_on": (today - timedelta(days=1)).isoformat(),
        "hire_date": today.isoformat(),
        "employer_case_id": f"H-{i}",
    }
    return (ssa if roll >= 0.005 else []), dhs, row
