"""Forms of the queue and case pages: they parse input; the services decide."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from cases.models import Closure, ContestOutcome, DeliveryMethod, DismissReason

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
        try:
            return [int(x) for x in raw.replace(" ", "").split(",") if x]
        except ValueError as exc:
            raise forms.ValidationError("Bad selection.") from exc

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
