"""Test settings: the real PostgreSQL and Redis, a fast password hasher, locmem e-mail."""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests keep mail in memory, unless a test's worker process must reach the test's SMTP server.
EMAIL_BACKEND = os.environ.get(
    "CROSSCHECK_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
ALLOW_DEV_TOOLS = True
# Several test runs may share one PostgreSQL; each may name its own test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("CROSSCHECK_TEST_DB", "test_crosscheck")}
# Only the test database may let Django's flush through the audit table's TRUNCATE guard
# (audit/db.py explains the narrow way through).
AUDIT_TEST_FLUSH_ALLOWED = True
# The audit benchmark's switch (bench/audit.py); only the test settings read it.
AUDIT_ENABLED = os.environ.get("CROSSCHECK_AUDIT_ENABLED", "1") != "0"

# The test and development identity providers speak plain http on localhost.
SSO_ALLOW_HTTP_ISSUER = True
