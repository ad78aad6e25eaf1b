"""The one read path for personal data: what a page, an API answer or an export shows.

Every screen, API view and export that shows records about people goes through here twice:

1. `minimised_records` before rendering: each record is wrapped so that the fields of data
   categories the reader's grants and agreements do not cover read as `None` (absent from
   serializers' output, blank in templates). The field map belongs to the app that owns the
   model (for example `verification.models.CASE_FIELD_CATEGORIES`).
2. `personal_data_shown` after choosing what is shown: one read audit event naming everyone on
   the page and, for records owned by another agency than the reader's, the entry in the
   accounting of disclosures (5 U.S.C. 552a(c)) under the agreement that allowed it, in one
   transaction. Data of other categories shown beside the records (`AlsoShown`: SSA's and
   DHS's values next to a case) is accounted under its own category and owner in the same step.

Views call both through `show` (HTML) or `records_shown` (exports and API answers), so there is
no second copy of the accounting to forget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.services import event_record
from core.markers import personal_data_shown_here
from privacy.policy import decide, visible_fields
from privacy.services.disclosures import disclosures_record


@dataclass(frozen=True)
class Shown:
    """One record about one person that a reader was shown."""

    record_id: Any
    person_ref: str
    owner_agency_id: int | None = None  # None: the category's configured owner


@dataclass(frozen=True)
class ReadKind:
    """What is read: the audit action, the record type and the data category it belongs to."""

    action: str
    object_type: str
    record_type: str
    category: str
    purpose: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlsoShown:
    """Data of another category shown beside the records read, accounted under that category.

    For example the reference values of a case's findings: SSA's and DHS's data about the
    person, owned by SSA and DHS (each record's owner, or None for the category's configured
    owner), not by the agency that owns the case.
    """

    category: str
    record_type: str
    records: Sequence[Shown]


class Minimised:
    """A record as its reader may see it: the fields outside the reader's categories read as None.

    Templates and serializers get this wrapper instead of the model instance, so a template
    cannot print a field the reader's agreement does not cover.
    """

    __slots__ = ("_hidden", "_obj")

    def __init__(self, obj: Any, hidden: frozenset[str]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_hidden", hidden)

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            return None
        return getattr(self._obj, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a minimised record is read-only")

    @property
    def hidden_fields(self) -> frozenset[str]:
        """The fields this reader may not see."""
        return cast(frozenset[str], self._hidden)

    @property
    def record(self) -> Any:
        """The wrapped instance, for code that is not rendering (links, ids)."""
        return self._obj


def hidden_fields(
    user: Any,
    field_categories: Mapping[str, str],
    *,
    owner_agency_id: int | None = None,
) -> frozenset[str]:
    """The fields of `field_categories` that `user` may not see on a record of that owner."""
    owners = (
        dict.fromkeys(set(field_categories.values()), owner_agency_id) if owner_agency_id else None
    )
    visible = visible_fields(user, dict(field_categories), owners=owners)
    assert not isinstance(visible, bool)  # a map of fields in, a set of fields out
    return frozenset(f for f in field_categories if f not in visible)


def minimised_records(
    user: Any,
    records: Iterable[Any],
    field_categories: Mapping[str, str],
    *,
    owner_of: Callable[[Any], int | None] = lambda _r: None,
) -> list[Minimised]:
    """Wrap `records` for `user`: each hides the fields of categories outside the reader's reach."""
    cache: dict[int | None, frozenset[str]] = {}
    out = []
    for record in records:
        owner = owner_of(record)
        if owner not in cache:
            cache[owner] = hidden_fields(user, field_categories, owner_agency_id=owner)
        out.append(Minimised(record, cache[owner]))
    return out


def personal_data_shown(
    *,
    reader: Any,
    kind: ReadKind,
    records: Sequence[Shown],
    also: Sequence[AlsoShown] = (),
    nature: str = "view",
    case_id: int | None = None,
    object_id: Any = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record that `records` were shown to `reader`: the read audit event and the accounting of disclosures.

    The response that shows them is marked too, so that no cache keeps it (privacy.middleware).
    """
    personal_data_shown_here()
    if not records:
        return

    shown = [AlsoShown(kind.category, kind.record_type, records), *also]
    people = [r.person_ref for group in shown for r in group.records if r.person_ref]
    also_categories = sorted({a.category for a in also if a.records})

    def audit() -> None:
        event_record(
            action=kind.action,
            actor=reader,
            object_type=kind.object_type,
            object_id=object_id if object_id is not None else _single_id(records),
            subjects=list(dict.fromkeys(people)),
            case_id=case_id,
            detail={
                "count": len(records),
                "nature": nature,
                **kind.extra,
                **({"categories": also_categories} if also_categories else {}),
                **(detail or {}),
            },
        )

    # (category, record type, owner) -> the records of that owner shown outside its agency
    left: dict[tuple[str, str, int | None], list[Shown]] = {}
    for group in shown:
        for r in group.records:
            if r.owner_agency_id is None or r.owner_agency_id != reader.agency_id:
                left.setdefault((group.category, group.record_type, r.owner_agency_id), []).append(
                    r
                )
    if not left:
        audit()  # nothing left its agency: the lone INSERT commits by itself
        return
    with transaction.atomic():
        audit()
        for (category, record_type, owner), group_records in left.items():
            decision = decide(reader, action="view", category=category, owner_agency=owner)
            disclosures_record(
                actor=reader,
                decision=decision,
                category=category,
                record_type=record_type,
                records=[(r.record_id, r.person_ref) for r in group_records],
                nature=nature,
                purpose=kind.purpose,
            )


def _single_id(records: Sequence[Shown]) -> Any:
    return records[0].record_id if len(records) == 1 else ""


def show(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    kind: ReadKind,
    records: Sequence[Shown],
    also: Sequence[AlsoShown] = (),
    case_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render a page that shows personal data, after recording what it shows."""
    personal_data_shown(
        reader=request.user, kind=kind, records=records, also=also, case_id=case_id, detail=detail
    )
    return render(request, template, context, status=status)
