"""The privacy registry: every app's sources of personal data, registered in `AppConfig.ready`.

Privacy never imports the apps above it (DESIGN.md, inversion). Each app describes each table
that holds personal data as a `PersonalDataSource` and registers it:

    # verification/apps.py
    def ready(self):
        from privacy import registry
        from verification.privacy_sources import VerificationCaseSource
        registry.register(VerificationCaseSource())

Subject access (find + export), amendment (amend), the accounting of disclosures and retention
(retention_candidates + purge) work through this registry only. Legal holds come from
`LegalHold` rows and from hold providers that apps register (e.g. `cases` holds every record
linked to an open investigation): `registry.register_hold_provider(fn)`.

Derived copies. A source knows its own table, its dependent rows and their row history; it does
not know who else copied its records (findings the cross-reference engine derived from a
verification case, the flagged cases built from those findings), because those apps sit above
it. They say so here instead, by record type (a source name, or any other type name such as
"crossref.finding"):

    # crossref/apps.py
    registry.register_derived_purger("verification.case", crossref_copies_purge)
    # cases/apps.py
    registry.register_derived_purger("crossref.finding", case_links_purge)

Retention runs `purge_derived(source.name, ids)` and then `source.purge(ids)` in one transaction.
A purger that destroys records others copy in turn calls `purge_derived(<its type>, <its ids>)`
before its own deletes, so protected references go first (cases' links before the findings).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from django.db import connection


@dataclass(frozen=True)
class PersonQuery:
    """Who a subject request is about. The SSN arrives only as its blind index."""

    first_name: str = ""
    last_name: str = ""
    date_of_birth: date | None = None
    ssn_index: str = ""


@dataclass(frozen=True)
class RecordRef:
    """One record about a person in one source."""

    source: str
    record_id: str
    person_ref: str
    summary: str = ""
    match: str = ""  # how it matched: "ssn", "name+dob"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """`source:record_id`, the way requests and holds name a record."""
        return f"{self.source}:{self.record_id}"

    def as_json(self) -> dict[str, Any]:
        """A JSON-safe form for storing on a subject request."""
        return {
            "source": self.source,
            "record_id": self.record_id,
            "person_ref": self.person_ref,
            "summary": self.summary,
            "match": self.match,
        }


@runtime_checkable
class PersonalDataSource(Protocol):
    """A table (with its history and derived copies) that holds personal data."""

    # Read-only members, so a plain class attribute (or a DataCategory, a str) satisfies them.
    @property
    def name(self) -> str:
        """Unique, e.g. "verification.case"."""
        ...

    @property
    def label(self) -> str:
        """For people, e.g. "E-Verify verification case"."""
        ...

    @property
    def category(self) -> str:
        """A privacy.policy.DataCategory value."""
        ...

    @property
    def default_retention_years(self) -> int:
        """Used when no RetentionSchedule row overrides it."""
        ...

    def find(self, query: PersonQuery) -> Iterable[RecordRef]:
        """Records about the person (by SSN blind index, or by name and date of birth)."""
        ...

    def export(self, record_id: str) -> dict[str, Any]:
        """The record as the person may receive it (identifiers masked to the last four)."""
        ...

    def amendable_fields(self) -> Sequence[str]:
        """Fields a granted amendment may correct."""
        ...

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        """Apply a granted correction (in the caller's transaction; audited by the caller)."""
        ...

    def retention_candidates(
        self, *, before: datetime, after_id: str = "", limit: int = 500
    ) -> Sequence[RecordRef]:
        """Records whose retention clock started before `before`, ordered by id, after `after_id`.

        Ids compare in the source's own order; `after_id` is the last id of the previous chunk.
        """
        ...

    def purge(self, record_ids: Sequence[str]) -> int:
        """Destroy these records with their own history and dependent rows; returns how many went.

        Copies that other apps derived from them go through the derived purgers registered for
        this source (`purge_derived`), which retention runs first, in the same transaction.
        """
        ...


@runtime_checkable
class CountingSource(Protocol):
    """Optional: a source that can count its retention candidates in the database.

    The preview uses it instead of reading every candidate; a source without it is counted by
    walking `retention_candidates` chunk by chunk. The answers must agree with that walk.
    """

    def retention_count(
        self,
        *,
        before: datetime,
        record_ids: Collection[str] | None = None,
        person_refs: Collection[str] | None = None,
    ) -> int:
        """How many records `retention_candidates(before=before)` lists in all.

        With `record_ids` or `person_refs` (or both), only those whose id is among `record_ids` or
        whose person is among `person_refs`: how many of the candidates are held.
        """
        ...


HoldProvider = Callable[[str, Sequence[str]], set[str]]
# source name -> every record id the provider holds in that source (not only candidates)
HoldListing = Callable[[str], set[str]]
# record ids of one type -> {type: ids destroyed} (its own deletes and whatever it cascaded to)
DerivedPurger = Callable[[Sequence[str]], Mapping[str, Sequence[str]]]

_sources: dict[str, PersonalDataSource] = {}
_hold_providers: list[HoldProvider] = []
_hold_listings: dict[HoldProvider, HoldListing] = {}
_derived_purgers: dict[str, list[DerivedPurger]] = {}


def register(source: PersonalDataSource) -> PersonalDataSource:
    """Add a source (from its app's `ready`); a name may be registered once."""
    if not isinstance(source, PersonalDataSource):
        raise TypeError(f"{source!r} does not implement PersonalDataSource.")
    existing = _sources.get(source.name)
    if existing is not None and type(existing) is not type(source):
        raise ValueError(f"A personal-data source named {source.name!r} is already registered.")
    _sources[source.name] = source
    return source


def unregister(name: str) -> None:
    """Remove a source (tests use it to clean up)."""
    _sources.pop(name, None)


def sources() -> list[PersonalDataSource]:
    """Every registered source, by name."""
    return [_sources[k] for k in sorted(_sources)]


def source(name: str) -> PersonalDataSource:
    """One source by name; KeyError if unknown."""
    return _sources[name]


def record_types(name: str) -> list[str]:
    """The record types a source's disclosure entries are kept under: its name, and the older
    names it lists in `record_aliases` (the accounting is append-only: old rows keep theirs)."""
    known = _sources.get(name)
    return [name, *getattr(known, "record_aliases", ())]


def register_hold_provider(
    provider: HoldProvider, *, listing: HoldListing | None = None
) -> HoldProvider:
    """Add a function (source name, record ids) -> ids under a legal hold (e.g. open investigations).

    `listing`, if given, answers the same question set-wise: source name -> every id the provider
    holds there. The purge preview then counts held records in SQL instead of asking per chunk.
    """
    if provider not in _hold_providers:
        _hold_providers.append(provider)
    if listing is not None:
        _hold_listings[provider] = listing
    return provider


def unregister_hold_provider(provider: HoldProvider) -> None:
    """Remove a hold provider (tests use it to clean up)."""
    if provider in _hold_providers:
        _hold_providers.remove(provider)
    _hold_listings.pop(provider, None)


def hold_listing(provider: HoldProvider) -> HoldListing | None:
    """The set-wise form of a hold provider, if it registered one."""
    return _hold_listings.get(provider)


def register_derived_purger(record_type: str, purger: DerivedPurger) -> DerivedPurger:
    """Add a function that destroys what an app derived from records of `record_type`.

    It gets the ids about to be destroyed (they still exist when it runs), works in the caller's
    transaction, removes the row history of what it deletes, and returns {type: ids destroyed}.
    """
    purgers = _derived_purgers.setdefault(record_type, [])
    if purger not in purgers:
        purgers.append(purger)
    return purger


def unregister_derived_purger(record_type: str, purger: DerivedPurger) -> None:
    """Remove a derived purger (tests use it to clean up)."""
    purgers = _derived_purgers.get(record_type, [])
    if purger in purgers:
        purgers.remove(purger)


def purge_derived(record_type: str, record_ids: Sequence[str]) -> dict[str, list[str]]:
    """Run every purger registered for `record_type`; returns {type: ids destroyed}, merged.

    Must run inside the purge's transaction: a purger that fails rolls the whole chunk back.
    """

    if not record_ids:
        return {}
    if not connection.in_atomic_block:
        raise RuntimeError("purge_derived must run inside the purge's transaction")
    gone: dict[str, list[str]] = {}
    for purger in list(_derived_purgers.get(record_type, [])):
        for kind, ids in purger(record_ids).items():
            gone.setdefault(kind, []).extend(str(i) for i in ids)
    return gone


def hold_providers() -> list[HoldProvider]:
    """The registered hold providers."""
    return list(_hold_providers)


def find_everywhere(query: PersonQuery) -> list[RecordRef]:
    """Every record about the person, across every source."""
    found: list[RecordRef] = []
    for src in sources():
        found.extend(src.find(query))
    return found
