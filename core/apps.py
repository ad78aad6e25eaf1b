from django import forms
from django.apps import AppConfig

# Django's form fields repeat an invalid value in their message ("Select a valid choice. 123-45-6789
# is not one of the available choices."): a person's SSN typed into the wrong field would come
# back in the page. Every form of the project answers without repeating it.
UNECHOED: dict[type[forms.Field], dict[str, str]] = {
    forms.ChoiceField: {"invalid_choice": "That is not one of the choices."},
    forms.MultipleChoiceField: {"invalid_choice": "That is not one of the choices."},
    forms.ModelMultipleChoiceField: {
        "invalid_choice": "That is not one of the choices.",
        "invalid_pk_value": "That is not a valid value.",
    },
}


class CoreConfig(AppConfig):
    """The bottom of the app order: the base model and scoped querysets, domain errors, the federal
    working-day calendar, view markers, health checks. It imports no other app of ours."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        for field, messages in UNECHOED.items():
            field.default_error_messages = {**field.default_error_messages, **messages}
