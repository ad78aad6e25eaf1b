"""Forms of the employer portal.

The case form only lays the I-9 out in E-Verify's order: its fields accept any text, and the
values are checked by the API's own input serializer and the submit service, so the screen
answers with the API's messages, field by field.
"""

from __future__ import annotations

from django import forms

from verification.lifecycle import CLOSURE_FROM
from verification.models import (
    ApiScope,
    CitizenshipStatus,
    ClosureCode,
    DocumentType,
    DuplicateReason,
    EmployeeDecision,
    EmployerRole,
    ImportMode,
    LateReason,
)


def _text(label: str, help_text: str = "", **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}),
    )


def _date(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _choice(label: str, choices: list[tuple[str, str]]) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.Select(choices=[("", "—"), *choices])
    )


class CaseForm(forms.Form):
    """Form I-9 data in E-Verify's order: Section 1, then Section 2, then the case details."""

    # Section 1: employee information and attestation
    last_name = _text("Last name (family name)")
    first_name = _text("First name (given name)")
    middle_initial = _text("Middle initial", maxlength="1")
    other_last_names = _text("Other last names used", "Comma-separated, if any.")
    date_of_birth = _date("Date of birth")
    ssn = _text("U.S. Social Security number", "9 digits, as 123-45-6789.", inputmode="numeric")
    employee_email = _text("Employee's e-mail address", "Optional.")
    citizenship_status = _choice("Citizenship or immigration status", CitizenshipStatus.choices)
    a_number = _text("A-Number / USCIS number", "Lawful permanent residents and some noncitizens.")
    i94 = _text("Form I-94 admission number")
    passport = _text("Foreign passport number")
    passport_country = _text("Country of issuance", "3 letters, e.g. MEX.", maxlength="3")
    # Section 2: documents
    document_type = _choice("Document presented", DocumentType.choices)
    document_number = _text("Document number", "List A documents.")
    document_expires_on = _date("Document expiration date")
    # Case details
    offer_accepted_on = _date("Job offer accepted on")
    i9_completed_on = _date("Form I-9 Section 1 completed on")
    hire_date = _date("Hire date", "The first day of work for pay.")
    hiring_site = forms.CharField(label="Hiring site", required=False, widget=forms.Select())
    employer_case_id = _text("Your case id", "Optional: your own reference, unique per case.")
    late_reason = _choice("Why late (if created after the 3rd business day)", LateReason.choices)
    late_reason_text = _text("Late reason, explained", "For 'other'. No SSN or A-Number.")
    duplicate_reason = _choice("Why continue a duplicate (if asked)", DuplicateReason.choices)
    duplicate_reason_text = _text("Duplicate reason, explained", "For 'other'. No SSN or A-Number.")

    def __init__(self, *args: object, sites: list[tuple[int, str]] = (), **kwargs: object) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["hiring_site"].widget.choices = [("", "—"), *[(str(k), v) for k, v in sites]]

    def api_data(self) -> dict[str, object]:
        """The posted values as an API request body (empty optional values left out)."""
        data = {name: (self.data.get(name) or "") for name in self.fields}
        return {k: v for k, v in data.items() if v != "" or k in ("first_name", "last_name", "ssn")}


class NoticeForm(forms.Form):
    issued_on = forms.DateField(
        label="Notice given to the worker on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for today.",
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[c for c in EmployeeDecision.choices if c[0]], widget=forms.RadioSelect
    )


EMPLOYER_CLOSURE_CHOICES = [(c.value, c.label) for c in ClosureCode if c.value in CLOSURE_FROM]


class CloseForm(forms.Form):
    code = forms.ChoiceField(label="Reason", choices=EMPLOYER_CLOSURE_CHOICES)
    text = forms.CharField(
        label="Explanation",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed for some reasons. No SSN or A-Number.",
    )

    def __init__(self, *args: object, status: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if status:
            self.fields["code"].choices = [  # type: ignore[attr-defined]
                c for c in EMPLOYER_CLOSURE_CHOICES if status in CLOSURE_FROM[c[0]]
            ]


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON lines (one case per line).")
    mode = forms.ChoiceField(
        choices=ImportMode.choices, initial=ImportMode.ASK, widget=forms.RadioSelect
    )


class InviteForm(forms.Form):
    username = forms.SlugField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=EmployerRole.choices, initial=EmployerRole.USER)


class GrantForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text="A portal user of another employer (an agent acting for several)."
    )
    role = forms.ChoiceField(choices=EmployerRole.choices, initial=EmployerRole.USER)


class PortalKeyForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="Which system uses it, e.g. 'Payroll (ADP)'.")
    valid_days = forms.IntegerField(min_value=1, max_value=730, initial=365)
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        initial=list(ApiScope.values),
        widget=forms.CheckboxSelectMultiple,
    )
    rate_per_minute = forms.IntegerField(
        min_value=0, max_value=100000, initial=0, help_text="0 keeps the default limit."
    )


class AdminInviteForm(forms.Form):
    """An admin invites an employer's first administrator."""

    username = forms.SlugField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
