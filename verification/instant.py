"""The instant result: a submitted case compared at once with SSA and DHS reference data.

SSA (Numident, by SSN blind index) confirms SSN, names, date of birth and citizenship, and flags
death and locks. DHS (immigration records, by A-Number, I-94 or passport) confirms noncitizens'
identity and work authorization, and naturalization when SSA's citizenship is stale. Every
field compared is reported with its source, outcome, values and score (matching.py).

The reference rows read on the way are kept on the result (`References`): whoever listens to
"a case was submitted" (`verification.submitted`) derives what it needs from them without
reading SSA or DHS again, so the match runs once per submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Case, IntegerField, Q, When

from core.prepared import CompiledQuery
from privacy.crypto import blind_index, mask
from verification import matching
from verification.matching import FLAG, MISMATCH, NEAR, NOT_FOUND, VARIANT, FieldResult, Identity
from verification.models import (
    CaseStatus,
    CitizenshipStatus,
    ImmigrationRecord,
    Numident,
    NumidentCitizenship,
    TncSource,
)

SSA = "ssa"
DHS = "dhs"
# Classes of admission of lawful permanent residents (a representative set).
LPR_CLASSES = frozenset(
    {
        "IR1",
        "IR2",
        "IR5",
        "CR1",
        "CR6",
        "F11",
        "F21",
        "F31",
        "F41",
        "E11",
        "E21",
        "E31",
        "DV1",
        "RE6",
        "AS6",
        "SB1",
        "LPR",
    }
)


@dataclass(frozen=True)
class Comparison:
    """A field result with the source that gave it and the reference row it came from."""

    source: str
    result: FieldResult
    reference_id: int | None = None


@dataclass
class References:
    """The reference rows the instant match read (current loads only), in id order.

    `transposed` and `naturalized` are None when the match had no reason to look: the SSN's record
    was found with the submitted date of birth, or citizenship was not in question.
    """

    numident: Numident | None = None
    # Numident records of the SSN with two adjacent digits swapped (a keying error).
    transposed: list[Numident] | None = None
    # Naturalized DHS records born the day the case says (or of its A-Number).
    naturalized: list[ImmigrationRecord] | None = None
    immigration: ImmigrationRecord | None = None
    immigration_via: str = ""  # the identifier that led to `immigration`: a_number, i94 or passport
    # source -> id of its current load, when the caller read them with the rows (a single submit).
    loads: dict[str, int] | None = None


@dataclass
class InstantResult:
    """The outcome of matching one case, every comparison behind it, and the rows it read."""

    status: str = CaseStatus.EMPLOYMENT_AUTHORIZED
    tnc_source: str = TncSource.NONE
    name_review: bool = False
    comparisons: list[Comparison] = field(default_factory=list)
    references: References = field(default_factory=References)

    def add(self, source: str, result: FieldResult, reference_id: int | None = None) -> None:
        """Record one comparison."""
        self.comparisons.append(Comparison(source, result, reference_id))

    def disagreeing(self, source: str) -> list[Comparison]:
        """The comparisons of `source` that disagree."""
        return [c for c in self.comparisons if c.source == source and c.result.disagrees]


@dataclass(frozen=True)
class Submitted:
    """What the instant result needs from a case; identifiers in clear, in memory only."""

    first_name: str
    last_name: str
    other_last_names: str
    date_of_birth: date
    ssn: str
    citizenship_status: str
    hire_date: date
    a_number: str = ""
    i94: str = ""
    passport: str = ""
    passport_country: str = ""
    ssn_bidx: str = ""  # the SSN's blind index when the caller has it already (a bulk import)

    @property
    def ssn_index(self) -> str:
        """The SSN's blind index."""
        return self.ssn_bidx or blind_index(self.ssn, kind="ssn")

    @property
    def identity(self) -> Identity:
        """Names and DOB for matching."""
        return Identity(
            self.first_name,
            self.last_name,
            self.date_of_birth,
            other_last_names=self.other_last_names,
        )


_NUMIDENT_FIELDS = (
    "id",
    "ssn_bidx",
    "ssn_last4",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "citizenship",
    "death_date",
    "locked",
)
_DHS_FIELDS = (
    "id",
    "a_number_bidx",
    "first_name",
    "last_name",
    "date_of_birth",
    "class_of_admission",
    "work_authorized_from",
    "work_authorized_until",
    "naturalized_on",
    "a_number_last4",
)


# The current Numident record of an SSN, lowest id; the submit service reads it inside its own
# duplicate look-up (`services.submit`), the same SQL, so a submit spends no round trip on it.
NUMIDENT_BY_SSN = CompiledQuery(
    Numident,
    lambda ssn_bidx: (
        Numident.objects.current().filter(ssn_bidx=ssn_bidx).only(*_NUMIDENT_FIELDS).order_by("id")
    ),
    _NUMIDENT_FIELDS,
)


def _immigration_by(field_name: str) -> CompiledQuery:
    """Of the current DHS records with one identifier, the one born a given day, else the lowest id."""

    def build(value_bidx: str, born: date) -> Any:
        born_that_day = Case(
            When(date_of_birth=born, then=0), default=1, output_field=IntegerField()
        )
        return (
            ImmigrationRecord.objects.current()
            .only(*_DHS_FIELDS)
            .filter(**{f"{field_name}_bidx": value_bidx})
            .order_by(born_that_day, "id")
        )

    # The date placeholder only has to differ from the query's other parameters (checked).
    return CompiledQuery(
        ImmigrationRecord, build, _DHS_FIELDS, (CompiledQuery.PLACEHOLDER, date(1, 1, 3))
    )


IMMIGRATION_BY = {name: _immigration_by(name) for name in ("a_number", "i94", "passport")}


class Lookup:
    """How the match reads SSA and DHS: one query per question (a single submit).

    `BulkLookup` answers the same questions from rows read beforehand for many cases at once
    (a bulk import), so the decisions below are written once and serve both.
    """

    # source -> id of its current load, when the caller read them with its rows (KnownNumident).
    loads: dict[str, int] | None = None

    def numident(self, ssn_bidx: str) -> Numident | None:
        """The current Numident record of an SSN (lowest id)."""
        return NUMIDENT_BY_SSN.first(ssn_bidx)  # what .first() of the ORM query returns

    def numidents(self, ssn_bidxs: list[str]) -> list[Numident]:
        """The current Numident records of several SSNs, in id order."""
        return list(
            Numident.objects.current().filter(ssn_bidx__in=ssn_bidxs).only(*_NUMIDENT_FIELDS)
        )

    def immigration(self, field_name: str, value_bidx: str, born: date) -> ImmigrationRecord | None:
        """Of the current DHS records with this identifier, the one born that day, else the lowest id."""
        return IMMIGRATION_BY[field_name].first(value_bidx, born)

    def naturalized(self, born: date, a_number_bidx: str) -> list[ImmigrationRecord]:
        """Naturalized current DHS records born that day or of the A-Number, in id order."""
        wanted = Q(date_of_birth=born) | (Q(a_number_bidx=a_number_bidx) if a_number_bidx else Q())
        return list(
            ImmigrationRecord.objects.current()
            .filter(wanted, naturalized_on__isnull=False)
            .only(*_DHS_FIELDS)
        )


def _needs_transpositions(sub: Submitted, record: Numident | None) -> bool:
    """A keying error is possible: the SSN has no record, or its record was born another day."""
    return record is None or record.date_of_birth != sub.date_of_birth


def _citizenship_in_question(sub: Submitted, record: Numident | None) -> bool:
    """The worker attests citizenship that SSA's record does not show (DHS must look)."""
    attests_citizen = sub.citizenship_status in (
        CitizenshipStatus.CITIZEN,
        CitizenshipStatus.NONCITIZEN_NATIONAL,
    )
    return (
        record is not None and attests_citizen and record.citizenship != NumidentCitizenship.CITIZEN
    )


def _ssa(sub: Submitted, res: InstantResult, today: date, lookup: Lookup) -> bool:
    """Compare with Numident; True if SSA cannot confirm citizenship (DHS must look)."""
    record = lookup.numident(sub.ssn_index)
    res.references.numident = record
    if _needs_transpositions(sub, record):
        # A keying error is possible: the records of the SSN with two digits swapped, read once.
        variants = [blind_index(v, kind="ssn") for v in matching.ssn_transpositions(sub.ssn)]
        res.references.transposed = lookup.numidents(variants)
    if record is None:
        hint, ref_value, ref_id = "", "", None
        for candidate in res.references.transposed or []:
            ref = Identity(
                candidate.first_name,
                candidate.last_name,
                candidate.date_of_birth,
                candidate.middle_name,
            )
            if not any(r.disagrees for r in matching.compare_identity(sub.identity, ref)):
                hint, ref_value, ref_id = (
                    "ssn_transposition",
                    mask(candidate.ssn_last4),
                    candidate.pk,
                )
                break
        res.add(
            SSA, FieldResult("ssn", NOT_FOUND, mask(sub.ssn[-4:]), ref_value, 0.0, hint), ref_id
        )
        return False
    ref = Identity(record.first_name, record.last_name, record.date_of_birth, record.middle_name)
    for result in matching.compare_identity(sub.identity, ref):
        res.add(SSA, result, record.pk)
    if record.death_date is not None:
        res.add(
            SSA,
            FieldResult("death", FLAG, "", record.death_date.isoformat(), None, "deceased"),
            record.pk,
        )
    if record.locked:
        res.add(SSA, FieldResult("ssn_lock", FLAG, "", "locked", None, "locked"), record.pk)
    # Not yet a mismatch: DHS may show a naturalization SSA never heard of.
    return _citizenship_in_question(sub, record)


def _dhs_identifiers(sub: Submitted) -> list[tuple[str, str]]:
    """(field, blind index) of the identifiers that lead to a DHS record, in the order tried."""
    return [
        (field_name, blind_index(value, kind=field_name))
        for field_name, value in (
            ("a_number", sub.a_number),
            ("i94", sub.i94),
            ("passport", sub.passport),
        )
        if value
    ]


def _find_dhs(sub: Submitted, lookup: Lookup) -> tuple[ImmigrationRecord | None, str]:
    """The record the case's identifiers lead to: A-Number, then I-94, then passport; of several
    records with one number, the one born the day the case says, then the lowest id (as the
    cross-reference engine's staging matches them)."""
    for field_name, value_bidx in _dhs_identifiers(sub):
        found = lookup.immigration(field_name, value_bidx, sub.date_of_birth)
        if found is not None:
            return found, field_name
    return None, ""


def _naturalization(sub: Submitted, res: InstantResult, lookup: Lookup) -> bool:
    """Look for the naturalization that explains SSA's stale citizenship; True if found."""
    a_number = blind_index(sub.a_number, kind="a_number") if sub.a_number else ""
    # One read serves both: the records of the A-Number (what this match looks at when there is
    # one) and those born that day (what the cross-reference engine's citizenship rule weighs).
    res.references.naturalized = lookup.naturalized(sub.date_of_birth, a_number)
    candidates = [
        r
        for r in res.references.naturalized
        if (r.a_number_bidx == a_number if a_number else r.date_of_birth == sub.date_of_birth)
    ]
    for record in candidates[:50]:
        ref = Identity(record.first_name, record.last_name, record.date_of_birth)
        results = matching.compare_identity(sub.identity, ref)
        if not any(r.disagrees or r.outcome == NEAR for r in results):
            res.add(
                SSA,
                FieldResult(
                    "citizenship", VARIANT, "citizen", "noncitizen", None, "stale_citizenship"
                ),
                None,
            )
            res.add(
                DHS,
                FieldResult(
                    "naturalization",
                    matching.MATCH,
                    "",
                    str(record.naturalized_on),  # ISO: the query kept dated records only
                    100.0,
                    "naturalized",
                ),
                record.pk,
            )
            return True
    res.add(
        SSA,
        FieldResult(
            "citizenship", MISMATCH, "citizen", "noncitizen", None, "citizenship_unconfirmed"
        ),
        None,
    )
    return False


def _dhs(sub: Submitted, res: InstantResult, today: date, lookup: Lookup) -> bool:
    """Compare a noncitizen with DHS records; False if no record was found (manual check)."""
    record, via = _find_dhs(sub, lookup)
    res.references.immigration, res.references.immigration_via = record, via
    if record is None:
        id_field = "a_number" if sub.a_number else ("i94" if sub.i94 else "passport")
        res.add(DHS, FieldResult(id_field, NOT_FOUND, "", "", 0.0, ""), None)
        return False
    res.add(DHS, FieldResult(via, matching.MATCH, "", "", 100.0, ""), record.pk)
    ref = Identity(record.first_name, record.last_name, record.date_of_birth)
    for result in matching.compare_identity(sub.identity, ref):
        res.add(DHS, result, record.pk)
    if (
        sub.citizenship_status == CitizenshipStatus.PERMANENT_RESIDENT
        and record.class_of_admission not in LPR_CLASSES
    ):
        res.add(
            DHS,
            FieldResult(
                "status", MISMATCH, "permanent_resident", record.class_of_admission, None, "not_lpr"
            ),
            record.pk,
        )
    start, end = record.work_authorized_from, record.work_authorized_until
    if (
        sub.citizenship_status == CitizenshipStatus.AUTHORIZED_ALIEN
        and start is None
        and end is None
    ):
        res.add(
            DHS,
            FieldResult("work_authorization", FLAG, "", "none", None, "no_work_authorization"),
            record.pk,
        )
    if start is not None and start > sub.hire_date:
        res.add(
            DHS,
            FieldResult(
                "work_authorization",
                FLAG,
                sub.hire_date.isoformat(),
                start.isoformat(),
                None,
                "not_started",
            ),
            record.pk,
        )
    if end is not None and end < max(today, sub.hire_date):
        res.add(
            DHS,
            FieldResult(
                "work_authorization",
                FLAG,
                sub.hire_date.isoformat(),
                end.isoformat(),
                None,
                "expired",
            ),
            record.pk,
        )
    return True


def _noncitizen(sub: Submitted) -> bool:
    return sub.citizenship_status in (
        CitizenshipStatus.PERMANENT_RESIDENT,
        CitizenshipStatus.AUTHORIZED_ALIEN,
    )


def instant_result(sub: Submitted, *, today: date, lookup: Lookup | None = None) -> InstantResult:
    """Match a case against SSA and, when the attested status needs it, DHS; decide the result."""
    lookup = lookup or _ONE_BY_ONE
    res = InstantResult()
    res.references.loads = lookup.loads
    needs_naturalization = _ssa(sub, res, today, lookup)
    nmt = False
    if needs_naturalization and not _naturalization(sub, res, lookup):
        nmt = True  # SSA cannot confirm citizenship and DHS shows no naturalization: manual check
    if _noncitizen(sub) and not _dhs(sub, res, today, lookup):
        nmt = True
    ssa_bad = bool([c for c in res.disagreeing(SSA) if c.result.hint != "citizenship_unconfirmed"])
    dhs_bad = bool(res.disagreeing(DHS)) and any(
        c.result.outcome != NOT_FOUND for c in res.disagreeing(DHS)
    )
    if ssa_bad or dhs_bad:
        res.status = CaseStatus.TENTATIVE_NONCONFIRMATION
        res.tnc_source = (
            TncSource.BOTH if ssa_bad and dhs_bad else (TncSource.SSA if ssa_bad else TncSource.DHS)
        )
    elif nmt:
        res.status = CaseStatus.NEEDS_MORE_TIME
    else:
        res.status = CaseStatus.EMPLOYMENT_AUTHORIZED
        res.name_review = any(c.result.outcome == NEAR for c in res.comparisons)
    return res


_ONE_BY_ONE = Lookup()


class KnownNumident(Lookup):
    """`Lookup`, with the SSN's Numident record already read (None: it has none) by the caller."""

    def __init__(
        self, ssn_bidx: str, record: Numident | None, *, loads: dict[str, int] | None = None
    ) -> None:
        self._ssn_bidx, self._record = ssn_bidx, record
        self.loads = loads  # source -> id of its current load, read with the record (if given)

    def numident(self, ssn_bidx: str) -> Numident | None:
        if ssn_bidx == self._ssn_bidx:
            return self._record
        return super().numident(ssn_bidx)


class BulkLookup(Lookup):
    """The reference rows many cases need, read in a handful of set-based queries beforehand.

    What each case would have asked one query at a time (its SSN's record, its transposed SSNs'
    records, the DHS records of its identifiers, the naturalized records that may explain stale
    citizenship) is read for all the cases together; `instant_result` then decides each case
    from these rows with the same code as a single submit.
    """

    def __init__(self, subs: list[Submitted]) -> None:
        self._numident: dict[str, list[Numident]] = {}
        self._first: dict[
            str, Numident
        ] = {}  # the lowest id of each SSN (asked three times a case)
        self._dhs: dict[tuple[str, str], list[ImmigrationRecord]] = {}
        self._naturalized: list[ImmigrationRecord] = []
        self._read_numident(sorted({s.ssn_index for s in subs}))
        variants: set[str] = set()
        for sub in subs:
            record = self.numident(sub.ssn_index)
            if _needs_transpositions(sub, record):
                variants.update(
                    blind_index(v, kind="ssn") for v in matching.ssn_transpositions(sub.ssn)
                )
        self._read_numident(sorted(variants - self._numident.keys()))
        wanted: dict[str, set[str]] = {"a_number": set(), "i94": set(), "passport": set()}
        for sub in subs:
            for field_name, value_bidx in _dhs_identifiers(sub):
                wanted[field_name].add(value_bidx)
        for field_name, values in wanted.items():
            if values:
                for rec in (
                    ImmigrationRecord.objects.current()
                    .only(*_DHS_FIELDS)
                    .filter(**{f"{field_name}_bidx__in": sorted(values)})
                ):
                    self._dhs.setdefault(
                        (field_name, getattr(rec, f"{field_name}_bidx")), []
                    ).append(rec)
        questioned = [s for s in subs if _citizenship_in_question(s, self.numident(s.ssn_index))]
        if questioned:
            births = sorted({s.date_of_birth for s in questioned})
            numbers = sorted(
                {blind_index(s.a_number, kind="a_number") for s in questioned if s.a_number}
            )
            self._naturalized = list(
                ImmigrationRecord.objects.current()
                .filter(
                    Q(date_of_birth__in=births) | Q(a_number_bidx__in=numbers),
                    naturalized_on__isnull=False,
                )
                .only(*_DHS_FIELDS)
            )

    def _read_numident(self, bidxs: list[str]) -> None:
        for bidx in bidxs:
            self._numident.setdefault(bidx, [])
        for start in range(0, len(bidxs), 10000):
            for rec in (
                Numident.objects.current()
                .filter(ssn_bidx__in=bidxs[start : start + 10000])
                .only(*_NUMIDENT_FIELDS)
            ):
                self._numident[rec.ssn_bidx].append(rec)
                first = self._first.get(rec.ssn_bidx)
                if first is None or rec.pk < first.pk:
                    self._first[rec.ssn_bidx] = rec

    def numident(self, ssn_bidx: str) -> Numident | None:
        return self._first.get(ssn_bidx)

    def numidents(self, ssn_bidxs: list[str]) -> list[Numident]:
        return sorted(
            (r for b in set(ssn_bidxs) for r in self._numident.get(b, [])), key=lambda r: r.pk
        )

    def immigration(self, field_name: str, value_bidx: str, born: date) -> ImmigrationRecord | None:
        found = self._dhs.get((field_name, value_bidx))
        if not found:
            return None
        return min(found, key=lambda r: (r.date_of_birth != born, r.pk))

    def naturalized(self, born: date, a_number_bidx: str) -> list[ImmigrationRecord]:
        return [
            r
            for r in self._naturalized
            if r.date_of_birth == born or (a_number_bidx and r.a_number_bidx == a_number_bidx)
        ]
