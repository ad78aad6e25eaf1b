"""Forms of the webhook admin screens; they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from verification.models import DeliveryState, Employer, WebhookEventType
from verification.models.webhooks import SUBSCRIBABLE

EVENT_CHOICES = [(c, WebhookEventType(c).label) for c in SUBSCRIBABLE]


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *DeliveryState.choices], required=False)
    type = forms.ChoiceField(
        label="Event", choices=[("", "Any event"), *WebhookEventType.choices], required=False
    )
    employer = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    case = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class SubscriptionForm(forms.Form):
    employer = forms.ModelChoiceField(queryset=Employer.objects.none())
    url = forms.CharField(label="URL", max_length=2000, help_text="https://, a public address")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, employers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employer"].queryset = employers  # type: ignore[attr-defined]


class AllowanceForm(forms.Form):
    host = forms.CharField(
        max_length=255, help_text="A host name, an address, or a network such as 10.2.0.0/16"
    )
    note = forms.CharField(max_length=200, help_text="Why webhooks may call it")


class RotateForm(forms.Form):
    overlap_hours = forms.IntegerField(
        min_value=0, required=False, help_text="Hours the old secret keeps signing (0: none)"
    )
