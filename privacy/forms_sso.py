"""Forms of the e-mail settings, single sign-on administration and access requests."""

from __future__ import annotations

from typing import Any

from django import forms

from privacy.models import Agency, Role, Unit
from privacy.models.mail import Delivery, MailKind
from privacy.models.sso import IdentityProvider, MfaTrust


class MailPreferencesForm(forms.Form):
    """One choice per kind of e-mail: at once, daily digest, or never."""

    def __init__(self, *args: Any, current: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for kind, label in MailKind.choices:
            self.fields[kind] = forms.ChoiceField(
                label=label,
                choices=Delivery.choices,
                initial=current.get(kind, Delivery.IMMEDIATE),
                widget=forms.RadioSelect,
            )


class IdentityProviderForm(forms.Form):
    """An agency's OpenID Connect provider."""

    issuer = forms.URLField(
        max_length=300,
        assume_scheme="https",
        help_text="e.g. https://login.agency.gov/openid",
    )
    client_id = forms.CharField(max_length=200)
    client_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current secret.",
    )
    scopes = forms.CharField(max_length=200, initial="openid email profile")
    enabled = forms.BooleanField(required=False, initial=True)
    agency_claim = forms.CharField(max_length=100, required=False)
    agency_claim_value = forms.CharField(max_length=200, required=False)
    unit_claim = forms.CharField(max_length=100, required=False)
    default_unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False)
    mfa_trust = forms.ChoiceField(choices=MfaTrust.choices, label="Second factor")
    mfa_acr_values = forms.CharField(max_length=300, required=False, label="acr values for MFA")
    mfa_amr_values = forms.CharField(
        max_length=300, required=False, initial="mfa otp hwk swk sc", label="amr values for MFA"
    )

    def __init__(
        self, *args: Any, agency: Agency, provider: IdentityProvider | None, **kwargs: Any
    ):
        if provider is not None:
            kwargs.setdefault(
                "initial",
                {
                    name: getattr(provider, name)
                    for name in self.base_fields
                    if name != "client_secret"
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["default_unit"].queryset = Unit.objects.filter(agency=agency)  # type: ignore[attr-defined]
        if "openid" not in (self.initial.get("scopes") or "openid"):
            self.initial["scopes"] = "openid " + self.initial["scopes"]

    def clean_scopes(self) -> str:
        scopes: str = self.cleaned_data["scopes"]
        if "openid" not in scopes.split():
            raise forms.ValidationError("The scopes must include openid.")
        return " ".join(scopes.split())


class UnitMappingForm(forms.Form):
    """One value of the unit claim and the unit it places people in."""

    value = forms.CharField(max_length=200, label="Claim value")
    unit = forms.ModelChoiceField(queryset=Unit.objects.none())

    def __init__(self, *args: Any, agency: Agency, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(agency=agency)  # type: ignore[attr-defined]


class AccessRequestForm(forms.Form):
    """The roles one asks for, in which unit, and why."""

    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args: Any, agency_id: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        units = Unit.objects.filter(agency_id=agency_id) if agency_id else Unit.objects.none()
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class AccessDecisionForm(forms.Form):
    """An admin's decision on a request for access."""

    approve = forms.TypedChoiceField(
        choices=[("1", "Approve"), ("0", "Decline")], coerce=lambda v: v == "1"
    )
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    note = forms.CharField(max_length=500, required=False)
