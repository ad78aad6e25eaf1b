"""Forms of sign-in, second-factor steps, and the privacy administration screens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from privacy.models import EMPLOYER_ROLES, Agency, Agreement, Role, SubjectRequestKind, Unit
from privacy.policy import Action, DataCategory


class LoginForm(AuthenticationForm):
    """Username and password; the same error for unknown users and wrong passwords."""

    error_messages = {
        "invalid_login": "Incorrect username or password.",
        "inactive": "Incorrect username or password.",
    }

    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class TokenForm(forms.Form):
    """A six-digit code from the authenticator, or an eight-character recovery code."""

    token = forms.CharField(
        label="Verification code",
        min_length=6,
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        return str(self.cleaned_data["token"]).replace(" ", "").strip()


class InvitationAcceptForm(forms.Form):
    """The invitee's new password, twice."""

    password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Repeat it",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


# --- Administration forms -------------------------------------------------------------------------


class AgencyForm(forms.ModelForm[Any]):
    class Meta:
        model = Agency
        fields = ["department", "code", "name", "address", "is_active"]


class UnitForm(forms.ModelForm[Any]):
    class Meta:
        model = Unit
        fields = ["agency", "code", "name"]


def _scope_choices() -> list[tuple[str, str]]:
    return [
        (f"{c}:{a}", f"{cl} — {al}") for c, cl in DataCategory.choices for a, al in Action.choices
    ]


class AgreementForm(forms.ModelForm[Any]):
    """The terms of an agreement; the scope is a grid of data categories x actions."""

    scope_cells = forms.MultipleChoiceField(
        label="Scope (data categories x actions)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=_scope_choices,
    )

    class Meta:
        model = Agreement
        fields = [
            "reference",
            "title",
            "kind",
            "source_agency",
            "recipient_agency",
            "purpose",
            "legal_authority",
            "routine_use",
            "disclosure_basis",
            "justification",
            "data_elements",
            "effective_on",
            "expires_on",
        ]
        widgets = {
            "effective_on": forms.DateInput(attrs={"type": "date"}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "legal_authority": forms.Textarea(attrs={"rows": 2}),
            "justification": forms.Textarea(attrs={"rows": 3}),
            "data_elements": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["scope_cells"].initial = [
                f"{c}:{a}" for c, actions in (self.instance.scope or {}).items() for a in actions
            ]

    def scope(self) -> dict[str, list[str]]:
        """The checked cells as {category: [actions]}."""
        out: dict[str, list[str]] = {}
        for cell in self.cleaned_data.get("scope_cells") or []:
            category, _, action = cell.partition(":")
            out.setdefault(category, []).append(action)
        return out

    def terms(self) -> dict[str, Any]:
        """The fields the agreement services take."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["scope"] = self.scope()
        return data

    def _post_clean(self) -> None:  # the service validates (model clean would run twice)
        pass


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)


class ApproveForm(forms.Form):
    dib_reference = forms.CharField(label="Data Integrity Board decision", max_length=100)


class RenewForm(forms.Form):
    expires_on = forms.DateField(
        label="New end date", widget=forms.DateInput(attrs={"type": "date"})
    )


class DocumentForm(forms.Form):
    document = forms.FileField(label="Signed agreement (PDF)")


# Employer roles are given by employers' administrators in the portal, never on agency staff.
AGENCY_ROLE_CHOICES = [c for c in Role.choices if c[0] not in EMPLOYER_ROLES]


class InviteForm(forms.Form):
    username = forms.SlugField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    unit = forms.ModelChoiceField(queryset=Unit.objects.select_related("agency"))
    roles = forms.MultipleChoiceField(
        choices=AGENCY_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


class UserEditForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    unit = forms.ModelChoiceField(queryset=Unit.objects.select_related("agency"))
    roles = forms.MultipleChoiceField(
        choices=AGENCY_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


class GrantForm(forms.Form):
    role = forms.ChoiceField(choices=AGENCY_ROLE_CHOICES)
    agreement = forms.ModelChoiceField(
        queryset=Agreement.objects.none(),
        required=False,
        help_text="Leave empty for a role over the home agency's own data.",
    )
    valid_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            field = self.fields["agreement"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Agreement.objects.filter(
                recipient_agency_id=user.agency_id,
                status__in=["draft", "approved", "active", "suspended"],
            )


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    deadline = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=SubjectRequestKind.choices)
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ssn = forms.CharField(
        label="SSN (optional, used only to match records)",
        required=False,
        max_length=11,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    contact_address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    received_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    identity_evidence = forms.CharField(
        required=False, max_length=300, help_text="How identity was verified, if it was."
    )
    amendment_record = forms.CharField(required=False, max_length=160, help_text="source:record id")
    amendment_field = forms.CharField(required=False, max_length=64)
    amendment_value = forms.CharField(required=False, max_length=300)
    amendment_reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    grant = forms.TypedChoiceField(
        choices=[("1", "Grant and apply the correction"), ("0", "Refuse")],
        coerce=lambda v: v == "1",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class StatementForm(forms.Form):
    text = forms.CharField(
        label="Statement of disagreement", widget=forms.Textarea(attrs={"rows": 5})
    )


class HoldForm(forms.Form):
    source = forms.CharField(
        required=False, max_length=64, help_text="Registry source; empty for every source."
    )
    record_id = forms.CharField(required=False, max_length=64)
    person_ref = forms.CharField(required=False, max_length=128)
    reason = forms.CharField(max_length=300)


class ScheduleForm(forms.Form):
    source = forms.CharField(max_length=64)
    years = forms.IntegerField(min_value=1, max_value=100)
    authority = forms.CharField(max_length=200)


class BreakGlassForm(forms.Form):
    subject_ref = forms.CharField(max_length=160, widget=forms.HiddenInput)
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=30,
        help_text="Why you need this record now, outside your assignments. Supervisors review it.",
    )
