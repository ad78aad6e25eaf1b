"""Forms of the queue and case pages: they parse input; the services decide."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import get_language

from cases.models import (
    FLAGGED_STAGE,
    CaseStatus,
    Closure,
    ContestOutcome,
    DeliveryMethod,
    DismissReason,
    Severity,
)
from cases.queue import SORTS, QueueFilters, decode_cursor
from core.ids import is_id, parse_id, parse_id_list

BULK_CHOICES = [
    ("assign", "Assign"),
    ("dismiss", "Dismiss as false positive"),
    ("tag", "Tag"),
    ("merge", "Merge into case"),
    ("snooze", "Snooze"),
]


def _tomorrow_plus(days: int):
    return timezone.localdate() + timedelta(days=days)


class BulkForm(forms.Form):
    """One triage action over the selected rows, or over every case matching the filter."""

    action = forms.ChoiceField(choices=BULK_CHOICES)
    ids = forms.CharField(required=False, help_text="comma-separated case ids")
    scope = forms.ChoiceField(
        choices=[("selection", "Selected rows"), ("filter", "All matching this filter")],
        initial="selection",
    )
    query = forms.CharField(
        required=False, max_length=2000, help_text="the queue's filter query string"
    )
    assignee = forms.IntegerField(required=False)
    reason = forms.ChoiceField(choices=[("", "—"), *DismissReason.choices], required=False)
    note = forms.CharField(required=False, max_length=500)
    tags = forms.CharField(required=False, max_length=200, label="Tags (comma separated)")
    into = forms.CharField(required=False, max_length=20, label="Merge into case number")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    snooze_reason = forms.CharField(required=False, max_length=500)

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or ""
        ids = parse_id_list(raw)
        if ids is None:
            raise forms.ValidationError("Bad selection.")
        return ids

    def clean(self):
        data = super().clean() or {}
        action = data.get("action")
        if action == "dismiss" and not data.get("reason"):
            self.add_error("reason", "Choose a coded reason.")
        if action == "snooze":
            if not data.get("until"):
                self.add_error("until", "Choose a date.")
            if not (data.get("snooze_reason") or "").strip():
                self.add_error("snooze_reason", "Give a reason.")
        if action == "tag" and not (data.get("tags") or "").strip():
            self.add_error("tags", "Give at least one tag.")
        if action == "merge" and not data.get("into"):
            self.add_error("into", "Name the target case.")
        return data


NOT_A_CHOICE = {"invalid_choice": "That is not one of the choices."}


def _id_or_blank(value: str) -> None:
    if is_id(value) and parse_id(value) is None:
        raise forms.ValidationError("That number is too large to be an id.")


class QueueFilterForm(forms.Form):
    """The queue's filters, from its query string (and from its export and bulk "all matching").

    A value that does not parse (a NUL byte, a number out of range, an unknown choice) is not
    applied: `filters()` leaves that filter out and `problems()` says which and why (the page
    shows it; the export and bulk actions refuse).
    """

    status = forms.MultipleChoiceField(
        choices=CaseStatus.choices, required=False, error_messages=NOT_A_CHOICE
    )
    rule = forms.CharField(required=False, max_length=64)
    severity = forms.MultipleChoiceField(
        choices=Severity.choices, required=False, error_messages=NOT_A_CHOICE
    )
    score_min = forms.FloatField(required=False, label="score from")
    score_max = forms.FloatField(required=False, label="score to")
    employer = forms.CharField(required=False, max_length=100, validators=[_id_or_blank])
    state = forms.CharField(required=False, max_length=2)
    agency = forms.CharField(required=False, max_length=32)
    assignee = forms.CharField(required=False, max_length=20)
    age_min = forms.IntegerField(required=False, min_value=0, max_value=36500, label="age (days)")
    age_max = forms.IntegerField(
        required=False, min_value=0, max_value=36500, label="age at most (days)"
    )
    since = forms.DateTimeField(required=False, label="flagged since")
    signoff = forms.BooleanField(required=False, label="awaiting sign-off")
    due = forms.ChoiceField(
        choices=[
            ("", "Any"),
            ("overdue", "Overdue"),
            ("today", "Today"),
            ("week", "This week"),
            ("soon", "Due soon"),
            ("later", "On time"),
        ],
        required=False,
        error_messages=NOT_A_CHOICE,
    )
    tag = forms.CharField(required=False, max_length=40)
    q = forms.CharField(required=False, max_length=100, label="search")
    snoozed = forms.BooleanField(required=False)
    sort = forms.ChoiceField(
        choices=[(k, v[1]) for k, v in SORTS.items()], required=False, error_messages=NOT_A_CHOICE
    )
    after = forms.CharField(required=False, max_length=200, label="page")

    def clean_assignee(self) -> str:
        value = self.cleaned_data["assignee"]
        if value not in ("", "me", "none") and not is_id(value):
            raise forms.ValidationError("Choose me, nobody or a colleague.")
        _id_or_blank(value)
        return value

    def clean_state(self) -> str:
        return self.cleaned_data["state"].upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after = data.get("after")
        if after and decode_cursor(after, data.get("sort") or "priority") is None:
            self.add_error("after", "That page no longer exists; showing the first page.")
        return data

    def filters(self) -> QueueFilters:
        """The filters that parsed; the others keep their defaults."""
        self.is_valid()
        data = self.cleaned_data
        return QueueFilters(
            status=data.get("status") or list(FLAGGED_STAGE),
            rule=data.get("rule", ""),
            severity=data.get("severity") or [],
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            employer=data.get("employer", ""),
            state=data.get("state", ""),
            agency=data.get("agency", ""),
            assignee=data.get("assignee", ""),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            due=data.get("due", ""),
            since=data.get("since"),
            signoff=bool(data.get("signoff")),
            tag=data.get("tag", ""),
            q=data.get("q", ""),
            snoozed=bool(data.get("snoozed")),
            sort=data.get("sort") or "priority",
        )

    def cursor(self) -> str:
        """The page cursor (`after`), if it parsed."""
        self.is_valid()
        return str(self.cleaned_data.get("after") or "")

    def problems(self) -> list[str]:
        """One sentence per filter that was not applied."""
        self.is_valid()
        return [
            f"The filter “{self.fields[name].label or name}” was not applied: {' '.join(str(e) for e in errors)}"
            for name, errors in self.errors.items()
            if name in self.fields
        ]

    def query(self) -> QueryDict:
        """The query string without the filters that did not parse (for links, views, exports)."""
        self.is_valid()
        query = QueryDict(mutable=True)
        for name in self.fields:
            if name in self.errors or not isinstance(self.data, QueryDict):
                continue
            for value in self.data.getlist(name):
                query.appendlist(name, value)
        return query


@dataclass(frozen=True)
class ParsedQueueQuery:
    """What `QueueFilterForm` makes of a query string: filters, page cursor, problems, clean query."""

    filters: QueueFilters
    cursor: str
    problems: tuple[str, ...]
    query: str

    def fresh_filters(self) -> QueueFilters:
        """A copy of the filters the caller may change (the parsed ones are shared)."""
        return dataclasses.replace(
            self.filters, status=list(self.filters.status), severity=list(self.filters.severity)
        )


@functools.lru_cache(maxsize=512)
def _parse(query: str, zone: str, language: str | None) -> ParsedQueueQuery:
    del zone, language  # part of the key: `since` is read in the zone, messages in the language
    form = QueueFilterForm(QueryDict(query))
    return ParsedQueueQuery(
        form.filters(), form.cursor(), tuple(form.problems()), form.query().urlencode()
    )


def parse_queue_query(params: QueryDict) -> ParsedQueueQuery:
    """`QueueFilterForm`'s answers for `params`, worked out once per distinct query string in a
    process: a bound form of twenty fields costs about a millisecond, the queue's busiest page's
    largest cost after its audit event."""
    return _parse(params.urlencode(), timezone.get_current_timezone_name(), get_language())


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80, label="View name")
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
    shared = forms.BooleanField(required=False, label="Share with my unit")
    unit_default = forms.BooleanField(required=False, label="Default for my unit")


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False, label="Assign to")
    round_robin = forms.BooleanField(required=False, label="Round-robin in the unit")


class DismissForm(forms.Form):
    reason = forms.ChoiceField(choices=DismissReason.choices, label="Reason")
    note = forms.CharField(required=False, max_length=500, label="Note")


class SnoozeForm(forms.Form):
    until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Snooze until")
    reason = forms.CharField(max_length=500, label="Reason")
    rule_code = forms.CharField(required=False, max_length=64, label="Only this rule (optional)")


class TagForm(forms.Form):
    add = forms.CharField(required=False, max_length=200, label="Add tags")
    remove = forms.CharField(required=False, max_length=200, label="Remove tags")


class MergeForm(forms.Form):
    into = forms.CharField(max_length=20, label="Merge into case number")


class OpenForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Keep")], required=False, label="Case kind")


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000, label="Note")


class EvidenceForm(forms.Form):
    file = forms.FileField(label="File")
    description = forms.CharField(required=False, max_length=300, label="Description")


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200, label="Task")
    assignee = forms.IntegerField(required=False, label="Assignee")
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due"
    )


class VerifyForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="What you checked"
    )


class DeliveryForm(forms.Form):
    method = forms.ChoiceField(choices=DeliveryMethod.choices, label="Delivered by")
    delivered_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="Delivered on"
    )


class ContestForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note")


class ContestDecideForm(forms.Form):
    outcome = forms.ChoiceField(choices=ContestOutcome.choices, label="Outcome")
    note = forms.CharField(required=False, max_length=2000, label="Note")


class ProposeForm(forms.Form):
    closure = forms.ChoiceField(
        choices=[
            (Closure.ADMINISTRATIVE_ACTION, Closure.ADMINISTRATIVE_ACTION.label),
            (Closure.REFERRAL, Closure.REFERRAL.label),
        ],
        label="Disposition",
    )
    note = forms.CharField(required=False, max_length=2000, label="Note")


class SignOffForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Sign off"), ("refuse", "Refuse")], label="Decision"
    )
    note = forms.CharField(required=False, max_length=2000, label="Note")


class CloseForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note")


class NoticeForm(forms.Form):
    """The notice to the person: in their language (from their verification case) or one chosen."""

    language = forms.ChoiceField(required=False, label="Language")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "The person's language"), *settings.LANGUAGES]
        self.fields["language"].choices = choices  # type: ignore[attr-defined]


class HandoffForm(forms.Form):
    to_unit = forms.IntegerField(label="Receiving unit")
    agreement = forms.IntegerField(label="Agreement")
    note = forms.CharField(required=False, max_length=500, label="Note")


class MemberForm(forms.Form):
    user = forms.IntegerField(label="Colleague")


SEARCH_KINDS = [("name_dob", "Name and date of birth"), ("ssn", "SSN"), ("a_number", "A-Number")]


class UnechoedInput(forms.TextInput):
    """A text box that never sends its value back, so the answer page does not repeat the number."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class PersonSearchForm(forms.Form):
    """A person search must say which case it serves (Privacy Act: purpose of each access)."""

    purpose_case = forms.ChoiceField(
        label="Purpose: the case or lead this search serves", choices=[]
    )
    kind = forms.ChoiceField(choices=SEARCH_KINDS, label="Search by")
    last_name = forms.CharField(required=False, max_length=80, label="Last name")
    first_name = forms.CharField(required=False, max_length=80, label="First name")
    date_of_birth = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date of birth"
    )
    identifier = forms.CharField(
        required=False,
        max_length=20,
        label="SSN or A-Number",
        widget=UnechoedInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, cases=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["purpose_case"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a case…")] + [
            (str(c.pk), f"{c.number} — {c.get_status_display()}") for c in cases
        ]

    def clean(self):
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == "name_dob" and not (data.get("last_name") and data.get("date_of_birth")):
            raise forms.ValidationError("Give at least the last name and the date of birth.")
        if kind in ("ssn", "a_number") and not (data.get("identifier") or "").strip():
            self.add_error("identifier", "Give the number.")
        return data
