"""A personal-data source for tests: records held in memory, registered like an app's source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from privacy.registry import PersonQuery, RecordRef


@dataclass
class Record:
    id: int
    person_ref: str
    first_name: str
    last_name: str
    date_of_birth: date
    ssn_index: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class MemorySource:
    """Implements `privacy.registry.PersonalDataSource` over a dict."""

    name = "test.records"
    label = "Test records"
    category = "verification_cases"
    default_retention_years = 10

    def __init__(self) -> None:
        self.records: dict[int, Record] = {}
        self.amended: list[tuple[str, str, str]] = []

    def add(self, record: Record) -> Record:
        self.records[record.id] = record
        return record

    def find(self, query: PersonQuery):
        for r in self.records.values():
            if query.ssn_index and r.ssn_index == query.ssn_index:
                yield RecordRef(
                    self.name, str(r.id), r.person_ref, summary=f"record {r.id}", match="ssn"
                )
            elif (r.last_name.lower(), r.date_of_birth) == (
                query.last_name.lower(),
                query.date_of_birth,
            ):
                yield RecordRef(
                    self.name, str(r.id), r.person_ref, summary=f"record {r.id}", match="name+dob"
                )

    def export(self, record_id: str) -> dict[str, Any]:
        r = self.records[int(record_id)]
        return {"first_name": r.first_name, "last_name": r.last_name, **r.data}

    def amendable_fields(self) -> Sequence[str]:
        return ["last_name", "first_name"]

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        setattr(self.records[int(record_id)], field, value)
        self.amended.append((record_id, field, value))

    def retention_candidates(
        self, *, before: datetime, after_id: str = "", limit: int = 500
    ) -> Sequence[RecordRef]:
        ids = sorted(
            r.id
            for r in self.records.values()
            if r.created_at < before and r.id > int(after_id or 0)
        )
        return [RecordRef(self.name, str(i), self.records[i].person_ref) for i in ids[:limit]]

    def purge(self, record_ids: Sequence[str]) -> int:
        for rid in record_ids:
            self.records.pop(int(rid), None)
        return len(record_ids)
