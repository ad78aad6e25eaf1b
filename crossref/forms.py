"""The form that starts a run."""

from __future__ import annotations

from typing import Any

from django import forms

from core.ids import parse_id_list
from crossref import registry


def _rule_choices() -> list[tuple[str, str]]:
    return [(r.code, f"{r.code} — {r.title}") for r in registry.current_rules()]


class RunForm(forms.Form):
    """Scope of a run: rules, dates, employers; shadow runs compare candidate rule versions."""

    rules = forms.MultipleChoiceField(
        choices=_rule_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every current rule.",
    )
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    employer_ids = forms.CharField(required=False, help_text="Employer ids, comma-separated.")
    shadow = forms.BooleanField(
        required=False, label="Shadow run (compare candidate versions, no findings)"
    )

    def clean_employer_ids(self) -> list[int]:
        """Comma-separated integers."""
        raw = self.cleaned_data["employer_ids"]
        ids = parse_id_list(raw)
        if ids is None:  # not a plain decimal, or beyond any id ("²", "1e3", 20 digits)
            raise forms.ValidationError("Use employer ids separated by commas.")
        return ids

    def clean(self) -> dict[str, Any]:
        """Dates as ISO strings for the run's scope."""
        data = super().clean() or {}
        for key in ("date_from", "date_to"):
            data[key] = data[key].isoformat() if data.get(key) else ""
        return data
