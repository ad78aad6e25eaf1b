"""The audit browser's filters and the review note."""

from __future__ import annotations

from typing import Any

from django import forms

from audit.models import Outcome


class EventFilterForm(forms.Form):
    """Filters of the audit browser; every one is optional."""

    user = forms.CharField(required=False, max_length=150, help_text="Username or user id")
    agency = forms.CharField(required=False, max_length=32)
    action = forms.CharField(
        required=False, max_length=64, help_text="Exact, or a prefix ending in * (e.g. auth.*)"
    )
    person = forms.CharField(
        required=False, max_length=80, help_text="Person reference, e.g. person:42"
    )
    case = forms.IntegerField(required=False, min_value=1)
    agreement = forms.IntegerField(required=False, min_value=1)
    outcome = forms.ChoiceField(required=False, choices=[("", "Any"), *Outcome.choices])
    break_glass = forms.BooleanField(required=False, label="Break-glass only")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data


class ReviewForm(forms.Form):
    """What the reviewer checked and concluded."""

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
