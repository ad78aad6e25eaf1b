"""Production settings: refuse to start on anything unsafe."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str
from config.settings.base import *  # noqa: F403
from config.settings.base import DEBUG, DEV_SECRET_KEY, SECRET_KEY

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (DJANGO_DEBUG).")
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random value of 50+ characters.")
for _name in ("CROSSCHECK_DATA_KEYS", "CROSSCHECK_BLIND_INDEX_KEY", "CROSSCHECK_AUDIT_HMAC_KEY"):
    if not env_str(_name, ""):
        raise ImproperlyConfigured(
            f"Set {_name}: production refuses to start without its encryption keys."
        )

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = True
ALLOW_DEV_TOOLS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# The checkpoint signing key comes from the secret store (CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE),
# never made up by the application itself.
AUDIT_CHECKPOINT_KEY_CREATE = False
