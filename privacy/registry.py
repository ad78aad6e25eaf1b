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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable


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
        return {"source": self.source, "record_id": self.record_id, "person_ref": self.person_ref,
                "summary": self.summary, "match": self.match}


@runtime_checkable
class PersonalDataSource(Protocol):
    """A table (with its history and derived copies) that holds personal data."""

    name: str  # unique, e.g. "verification.case"
    label: str  # for people, e.g. "E-Verify verification case"
    category: str  # a privacy.policy.DataCategory value
    default_retention_years: int  # used when no RetentionSchedule row overrides it

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

    def retention_candidates(self, *, before: datetime, after_id: str = "", limit: int = 500) -> Sequence[RecordRef]:
        """Records whose retention clock started before `before`, ordered by id, after `after_id`.

        Ids compare in the source's own order; `after_id` is the last id of the previous chunk.
        """
        ...

    def purge(self, record_ids: Sequence[str]) -> int:
        """Destroy these records with their history and derived copies; returns how many went."""
        ...


HoldProvider = Callable[[str, Sequence[str]], set[str]]

_sources: dict[str, PersonalDataSource] = {}
_hold_providers: list[HoldProvider] = []


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


def register_hold_provider(provider: HoldProvider) -> HoldProvider:
    """Add a function (source name, record ids) -> ids under a legal hold (e.g. open investigations)."""
    if provider not in _hold_providers:
        _hold_providers.append(provider)
    return provider


def unregister_hold_provider(provider: HoldProvider) -> None:
    """Remove a hold provider (tests use it to clean up)."""
    if provider in _hold_providers:
        _hold_providers.remove(provider)


def hold_providers() -> list[HoldProvider]:
    """The registered hold providers."""
    return list(_hold_providers)


def find_everywhere(query: PersonQuery) -> list[RecordRef]:
    """Every record about the person, across every source."""
    found: list[RecordRef] = []
    for src in sources():
        found.extend(src.find(query))
    return found
