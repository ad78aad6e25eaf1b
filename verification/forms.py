"""Forms of the verification screens; they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from verification import validation
from verification.lifecycle import RESOLUTIONS
from verification.models import CaseStatus, TncSource

RESOLUTION_LABELS = {
    "confirmed": "Confirmed: employment authorized",
    "corrected_record": "Record corrected: employment authorized",
    "tentative_nonconfirmation": "Cannot confirm: issue a DHS mismatch",
    "continuance": "Case in continuance (more time needed)",
    "close_and_resubmit": "Close case and resubmit (data on the case was wrong)",
    "final_nonconfirmation": "Final nonconfirmation",
}


class EmployerForm(forms.Form):
    ein = forms.CharField(label="EIN", max_length=10, help_text="12-3456789")
    name = forms.CharField(max_length=200)
    naics = forms.CharField(label="NAICS", max_length=6)
    state = forms.CharField(max_length=2)
    address = forms.CharField(max_length=300, required=False)
    city = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=10, required=False)
    mou_signed_on = forms.DateField(
        label="E-Verify MOU signed on", widget=forms.DateInput(attrs={"type": "date"})
    )
    is_federal_contractor = forms.BooleanField(required=False)

    # The service's own field rules (verification.validation), so every error shows at once,
    # not only those of the first pass.
    def clean_ein(self) -> str:
        return _by_rule(validation.ein, self.cleaned_data["ein"])

    def clean_naics(self) -> str:
        return _by_rule(validation.naics, self.cleaned_data["naics"])

    def clean_state(self) -> str:
        return _by_rule(validation.state, self.cleaned_data["state"])


def _by_rule(rule: Any, value: str) -> str:
    try:
        return str(rule(value))
    except validation.FieldInvalid as exc:
        raise forms.ValidationError(str(exc)) from exc


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=300, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2)
    postal_code = forms.CharField(max_length=10, required=False)


class ApiKeyForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="Which system uses it, e.g. 'Payroll (ADP)'.")
    valid_days = forms.IntegerField(min_value=1, max_value=730, initial=365)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[(k, RESOLUTION_LABELS[k]) for k in RESOLUTIONS], widget=forms.RadioSelect
    )
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was checked or corrected. No SSN or A-Number.",
    )

    def __init__(self, *args: object, status: str = "", **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if status:
            self.fields["resolution"].choices = [  # type: ignore[attr-defined]
                (k, RESOLUTION_LABELS[k])
                for k, (allowed, _) in RESOLUTIONS.items()
                if status in allowed
            ]


class ContactForm(forms.Form):
    contacted_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class CaseFilterForm(forms.Form):
    status = forms.MultipleChoiceField(choices=CaseStatus.choices, required=False)
    tnc_source = forms.ChoiceField(
        choices=[("", "Any source"), *[c for c in TncSource.choices if c[0]]], required=False
    )
    employer = forms.CharField(max_length=100, required=False)
    escalated = forms.BooleanField(required=False, label="Escalated only")


REVEAL_CHOICES = [
    ("ssn", "SSN"),
    ("a_number", "A-Number"),
    ("i94", "I-94"),
    ("passport", "Passport"),
    ("document_number", "Document number"),
]


class RevealForm(forms.Form):
    """Which identifier to show in full, among those the page offers, and why."""

    field = forms.ChoiceField(choices=REVEAL_CHOICES)
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you need the full number; recorded in the audit trail.",
    )

    def __init__(self, *args: Any, offered: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["field"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [c for c in REVEAL_CHOICES if c[0] in offered]
