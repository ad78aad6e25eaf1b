"""Settings of the test identity provider process (not Crosscheck's: nothing here imports it)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

HERE = Path(__file__).resolve().parent
SECRET_KEY = "test-identity-provider-only"  # a throwaway key of a test process
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.sso_idp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
# A PostgreSQL database of its own (the test run creates and drops it), like everything here.
DATABASES = {"default": dj_database_url.parse(os.environ["SSO_IDP_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
LOGIN_URL = "/login/"
SITE_URL = f"http://127.0.0.1:{os.environ['SSO_IDP_PORT']}"
OIDC_USERINFO = "tests.sso_idp.claims.userinfo"
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.sso_idp.claims.shape_id_token"
OIDC_IDTOKEN_EXPIRE = 600
LOGGING = {"version": 1, "disable_existing_loggers": True}
