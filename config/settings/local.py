"""Development settings, used by `make run`."""

from config.env import env_bool
from config.settings.base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", True)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
ALLOW_DEV_TOOLS = True  # the `otp_code` command and other development-only helpers

# The test and development identity providers speak plain http on localhost.
SSO_ALLOW_HTTP_ISSUER = True
