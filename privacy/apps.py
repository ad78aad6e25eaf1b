from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Agencies, users and the access policy.

    Signal receivers (STYLE.md rule 9, decoupling only): `receivers.py` turns django-axes'
    `user_locked_out` and Django's `user_logged_out` into audit events, because those actions
    happen inside third-party code that has no service to call.
    """

    name = "privacy"
    verbose_name = "Privacy and access"

    def ready(self) -> None:
        from privacy import receivers  # noqa: F401
