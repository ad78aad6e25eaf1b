"""Settings shared by every environment. Values come from the environment (STYLE.md rule 15)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dj_database_url
import django_stubs_ext
from celery.schedules import crontab
from pythonjsonlogger.core import RESERVED_ATTRS

from config.env import env_bool, env_int, env_list, env_str
from config.languages import languages_in

# Generic Django classes (ModelAdmin[Any], QuerySet[Any], ...) subscriptable at run time, as the
# strict type checking of core, audit, privacy and crossref writes them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CROSSCHECK_VAR_DIR", str(BASE_DIR / "var")))

# A development-only key; production.py refuses to start with it.
DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_htmx",
    # Ours, bottom of the app order first (DESIGN.md): imports point down this list.
    "core",
    "audit",
    "privacy",
    "verification",
    "crossref",
    "cases",
    # Tooling, not product (DESIGN.md): no app imports it; its commands refuse production.
    "synthetic",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's language (their choice, else the browser's); notices use the worker's instead.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "privacy.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "privacy.middleware.NoStoreMiddleware",
    "privacy.middleware.TwoFactorRequiredMiddleware",
    # Axes goes last so that it sees the outcome of the authentication backends.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "privacy.context_processors.navigation",
            ],
        },
    },
]

# --- Database and Redis ----------------------------------------------------------------------
# DATABASE_URL and REDIS_URL are required here; `make run` (config/run.py) sets them to the
# embedded PostgreSQL and Redis when the caller has not.
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosscheck")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
DATABASES["default"].setdefault("OPTIONS", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CROSSCHECK_CACHE_PREFIX", "crosscheck"),
    }
}

# --- Authentication ----------------------------------------------------------------------------
AUTH_USER_MODEL = "privacy.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout (django-axes): 3 failures in 15 minutes, keyed on username and IP together.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 3)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Sessions: 15 minutes idle, 12 hours absolute, both enforced on the server.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("CROSSCHECK_SESSION_IDLE_MINUTES", 15))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=env_int("CROSSCHECK_SESSION_ABSOLUTE_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True

OTP_TOTP_ISSUER = "Crosscheck"

# --- Security headers --------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# No inline script anywhere: every script is a static file (django-csp 4 format).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "core" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
# One catalogue per language under locale/ (compiled by `make install`); LANGUAGES follows them,
# so a new language is one .po file. Notices to workers are printed in the case's language.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = languages_in(LOCALE_PATHS)
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "crosscheck@localhost")

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's HTML (?format=api, Accept: text/html) is not offered. It
    # rendered forms from a session user that an API key's principal is not (a 500), and the
    # API's documentation is the OpenAPI schema with Swagger UI and ReDoc.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JsonParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crosscheck API",
    "DESCRIPTION": "Employer verification-case submission and results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set, so generated clients get stable types.
    # The error answers of every operation (core/openapi.py), after the enum post-processing.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "VerificationCaseStatusEnum": "verification.models.cases.CaseStatus",
        "AgreementStatusEnum": "privacy.models.agreements.AgreementStatus",
        "WebhookEventTypeEnum": "verification.models.webhooks.WebhookEventType",
        "WebhookSubscribableEventEnum": "verification.models.webhooks.SUBSCRIBABLE",
    },
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_ROUTES = {
    "crossref.*": {"queue": "batch"},
    "verification.tasks.import_run": {"queue": "batch"},
}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "core-heartbeat": {"task": "core.tasks.heartbeat", "schedule": 30.0},
}
# How often beat sweeps expired leases and lost messages (the chaos harness shortens it).
CELERY_BEAT_SCHEDULE["crossref-sweep"] = {
    "task": "crossref.tasks.sweep",
    "schedule": float(env_int("CROSSREF_SWEEP_SECONDS", 60)),
}
CELERY_BEAT_SCHEDULE["crossref-scheduled-runs"] = {
    "task": "crossref.tasks.scheduled_runs",
    "schedule": 60.0,
}
# The worker heartbeat that /healthz reads; older than this means no worker is alive.
WORKER_HEARTBEAT_MAX_AGE = env_int("CROSSCHECK_WORKER_HEARTBEAT_MAX_AGE", 120)
# Which queues have a consumer (core/queues.py): how long to wait for the workers' replies, and
# how long the answer is reused (/healthz, the run page, `crossref run`).
QUEUE_INSPECT_TIMEOUT_SECONDS = float(env_str("CROSSCHECK_QUEUE_INSPECT_TIMEOUT", "1.0"))
QUEUE_CONSUMERS_CACHE_SECONDS = env_int("CROSSCHECK_QUEUE_CONSUMERS_CACHE_SECONDS", 10)
# How long `manage.py crossref run --wait` waits for the run before it gives up (exit status 1).
CROSSREF_WAIT_TIMEOUT_SECONDS = env_int("CROSSREF_WAIT_TIMEOUT_SECONDS", 1800)

# --- Crosscheck ---------------------------------------------------------------------------------
AUDIT_ENABLED = True  # Only the audit benchmark turns this off (config/settings/test.py).

# --- Audit trail (audit/) ------------------------------------------------------------------------
# Retention of audit events, in years; expired months are dropped whole (AU-11).
AUDIT_RETENTION_YEARS = env_int("CROSSCHECK_AUDIT_RETENTION_YEARS", 6)
# Monthly partitions are created this many months ahead (a default partition catches the rest).
AUDIT_PARTITIONS_AHEAD = env_int("CROSSCHECK_AUDIT_PARTITIONS_AHEAD", 3)
# Signed checkpoints of the chain head, written outside the database (AU-9, AU-10). The Ed25519
# key file must live outside the database and away from its administrators; development creates
# one under var/. Verifier-only hosts may hold just the public key.
AUDIT_CHECKPOINT_PATH = env_str(
    "CROSSCHECK_AUDIT_CHECKPOINT_PATH", str(VAR_DIR / "audit" / "checkpoints.jsonl")
)
AUDIT_CHECKPOINT_KEY_FILE = env_str(
    "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE", str(VAR_DIR / "audit" / "checkpoint-key.pem")
)
AUDIT_CHECKPOINT_PUBLIC_KEY_FILE = env_str("CROSSCHECK_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "")
AUDIT_CHECKPOINT_KEY_CREATE = env_bool("CROSSCHECK_AUDIT_CHECKPOINT_KEY_CREATE", True)
# Connections the verifier checks chunks of the chain on at once.
AUDIT_VERIFY_WORKERS = env_int("CROSSCHECK_AUDIT_VERIFY_WORKERS", 2)
# Only config/settings/test.py opens the test flush's narrow way through the TRUNCATE guard.
AUDIT_TEST_FLUSH_ALLOWED = False
# Row history (audit/history.py): extra models by label, extra column names never written.
AUDIT_ROW_HISTORY: list[str] = env_list("CROSSCHECK_AUDIT_ROW_HISTORY", [])
AUDIT_ROW_HISTORY_EXCLUDE: list[str] = []
AUDIT_IDENTIFIER_FIELDS: list[str] = []
# Review: events sampled per supervisor per day, and the anomaly rules' thresholds (audit/anomalies.py).
AUDIT_REVIEW_SAMPLE_PER_REVIEWER = env_int("CROSSCHECK_AUDIT_REVIEW_SAMPLE", 5)
AUDIT_ANOMALY = {
    "VOLUME_FACTOR": 3.0,  # a day's events above factor x the user's own daily median ...
    "VOLUME_MIN_EVENTS": 200,  # ... and above this floor
    "BASELINE_DAYS": 28,
    "WORKDAY_START_HOUR": 7,  # local time (TIME_ZONE); outside it, on weekends and holidays is after hours
    "WORKDAY_END_HOUR": 19,
    "AFTER_HOURS_BURST": 20,  # events within the burst window, after hours
    "BURST_WINDOW_MINUTES": 10,
    "DENIALS": 5,  # denied attempts within an hour
    "REVEALS_FACTOR": 3.0,  # identifier reveals above factor x the agency's median per user ...
    "REVEALS_MIN": 10,  # ... and above this floor
}
# Who is assigned to whom, for "access outside assignments": a dotted path to a callable
# (user_id: int, subjects: set[str]) -> set[str] of the subjects that user is assigned to
# (cases/ provides it). Empty: that rule is off.
AUDIT_ASSIGNMENT_RESOLVER = env_str("CROSSCHECK_AUDIT_ASSIGNMENT_RESOLVER", "")
# Actions that reveal a full identifier (counted by the "reveals above the norm" rule).
AUDIT_REVEAL_ACTION_SUFFIXES = [".identifier_revealed", ".reveal", ".revealed"]
CELERY_BEAT_SCHEDULE["audit-seal"] = {"task": "audit.tasks.seal", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.tasks.checkpoint",
    "schedule": float(env_int("CROSSCHECK_AUDIT_CHECKPOINT_SECONDS", 300)),
}
CELERY_BEAT_SCHEDULE["audit-verify"] = {"task": "audit.tasks.verify", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["audit-verify-full"] = {
    "task": "audit.tasks.verify",
    "schedule": 7 * 86400.0,
    "kwargs": {"full": True},
}
CELERY_BEAT_SCHEDULE["audit-partitions"] = {"task": "audit.tasks.partitions", "schedule": 86400.0}
CELERY_BEAT_SCHEDULE["audit-review-assign"] = {
    "task": "audit.tasks.review_assign",
    "schedule": 86400.0,
}
# --- end of audit trail ----------------------------------------------------------------------------
REFERRAL_CONTACT_WORKING_DAYS = env_int("CROSSCHECK_REFERRAL_CONTACT_DAYS", 8)

# --- Verification (issue 3): E-Verify deadlines, matching thresholds, employer API keys ----------
# Federal working days unless the name says days (DOMAIN.md §1); uncertain figures are settings.
VERIFICATION_LATE_AFTER_WORKING_DAYS = env_int("CROSSCHECK_LATE_AFTER_WORKING_DAYS", 3)
VERIFICATION_DUPLICATE_WINDOW_DAYS = env_int(
    "CROSSCHECK_DUPLICATE_WINDOW_DAYS", 365
)  # calendar days
VERIFICATION_DECISION_WORKING_DAYS = env_int("CROSSCHECK_DECISION_WORKING_DAYS", 10)
VERIFICATION_NMT_WORKING_DAYS = env_int("CROSSCHECK_NMT_WORKING_DAYS", 3)
VERIFICATION_DRAFT_EXPIRY_WORKING_DAYS = env_int("CROSSCHECK_DRAFT_EXPIRY_WORKING_DAYS", 180)
VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS = env_int(
    "CROSSCHECK_CONTINUANCE_ESCALATION_DAYS", 60
)
VERIFICATION_MIN_WORKER_AGE = env_int("CROSSCHECK_MIN_WORKER_AGE", 14)
# Name similarity (0-100, rapidfuzz): at or above MATCH a lawful variant, at or above REVIEW a
# near match sent to name review, below it a mismatch.
VERIFICATION_NAME_MATCH_SCORE = env_int("CROSSCHECK_NAME_MATCH_SCORE", 88)
VERIFICATION_NAME_REVIEW_SCORE = env_int("CROSSCHECK_NAME_REVIEW_SCORE", 75)
VERIFICATION_API_KEY_VALID_DAYS = env_int("CROSSCHECK_API_KEY_VALID_DAYS", 365)
VERIFICATION_API_KEY_MAX_DAYS = env_int("CROSSCHECK_API_KEY_MAX_DAYS", 730)
VERIFICATION_API_KEY_ROTATION_GRACE_HOURS = env_int("CROSSCHECK_API_KEY_ROTATION_GRACE_HOURS", 24)
# Requests a minute an employer API key may make unless its own limit is set (429 + Retry-After).
VERIFICATION_API_KEY_RATE_PER_MINUTE = env_int("CROSSCHECK_API_KEY_RATE_PER_MINUTE", 600)
# Bulk case import: the largest file (upload, API body), rows per chunk (one transaction each),
# and bad rows kept in the report (the count is always exact).
VERIFICATION_IMPORT_MAX_BYTES = env_int("CROSSCHECK_IMPORT_MAX_BYTES", 256 * 1024 * 1024)
VERIFICATION_IMPORT_CHUNK_ROWS = env_int("CROSSCHECK_IMPORT_CHUNK_ROWS", 5000)
VERIFICATION_IMPORT_MAX_REPORTED_ERRORS = env_int("CROSSCHECK_IMPORT_MAX_REPORTED_ERRORS", 10000)
# Milliseconds an import waits between chunks (yields the database to interactive work).
VERIFICATION_IMPORT_CHUNK_PAUSE_SECONDS = env_int("CROSSCHECK_IMPORT_CHUNK_PAUSE_MS", 0) / 1000
# Runs queued per import: workers that import one job's chunks side by side.
VERIFICATION_IMPORT_RUNNERS = env_int("CROSSCHECK_IMPORT_RUNNERS", 2)
# An import with no progress for this long is resumed by beat (its worker is presumed dead).
VERIFICATION_IMPORT_STALLED_SECONDS = env_int("CROSSCHECK_IMPORT_STALLED_SECONDS", 300)
# How often beat looks for stalled imports (the chaos harness asks every few seconds).
CELERY_BEAT_SCHEDULE["verification-imports-resume"] = {
    "task": "verification.tasks.imports_resume",
    "schedule": float(env_int("CROSSCHECK_IMPORT_RESUME_SECONDS", 60)),
}
CELERY_BEAT_SCHEDULE["verification-deadlines"] = {
    "task": "verification.tasks.deadlines_sweep",
    "schedule": float(env_int("CROSSCHECK_DEADLINES_SWEEP_SECONDS", 3600)),
}
# --- end Verification ----------------------------------------------------------------------------
# --- Webhooks for employers' systems (issue 20 section 3) ------------------------------------------
# Retries back off exponentially (base * 2^n, capped, with jitter) for the retry window, then the
# delivery is a dead letter. Fractions of a second are allowed so tests can shorten the clock.
WEBHOOK_RETRY_WINDOW_SECONDS = float(env_str("CROSSCHECK_WEBHOOK_RETRY_WINDOW_SECONDS", "86400"))
WEBHOOK_RETRY_BASE_SECONDS = float(env_str("CROSSCHECK_WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_DELAY_SECONDS = float(
    env_str("CROSSCHECK_WEBHOOK_RETRY_MAX_DELAY_SECONDS", "3600")
)
# A retry due within this many seconds is sent with a Celery countdown; later ones by the sweep.
WEBHOOK_COUNTDOWN_MAX_SECONDS = float(env_str("CROSSCHECK_WEBHOOK_COUNTDOWN_MAX_SECONDS", "300"))
WEBHOOK_TIMEOUT_SECONDS = float(env_str("CROSSCHECK_WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_RESPONSE_MAX_BYTES = env_int("CROSSCHECK_WEBHOOK_RESPONSE_MAX_BYTES", 64 * 1024)
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("CROSSCHECK_WEBHOOK_SECRET_OVERLAP_HOURS", 24)
WEBHOOK_SECRET_OVERLAP_MAX_HOURS = env_int("CROSSCHECK_WEBHOOK_SECRET_OVERLAP_MAX_HOURS", 168)
WEBHOOK_MAX_SUBSCRIPTIONS = env_int("CROSSCHECK_WEBHOOK_MAX_SUBSCRIPTIONS", 20)
WEBHOOK_REQUIRE_HTTPS = env_bool("CROSSCHECK_WEBHOOK_REQUIRE_HTTPS", True)
# Working days before a deadline at which the "due soon" reminder events go out.
WEBHOOK_REMINDER_WORKING_DAYS = env_int("CROSSCHECK_WEBHOOK_REMINDER_WORKING_DAYS", 2)
WEBHOOK_KEEP_DAYS = env_int("CROSSCHECK_WEBHOOK_KEEP_DAYS", 90)
CELERY_BEAT_SCHEDULE["verification-webhooks-prune"] = {
    "task": "verification.webhooks.prune",
    "schedule": 86400.0,
}
CELERY_BEAT_SCHEDULE["verification-webhooks-dispatch"] = {
    "task": "verification.webhooks.dispatch_due",
    "schedule": float(env_int("CROSSCHECK_WEBHOOK_SWEEP_SECONDS", 30)),
}
# --- end Webhooks -------------------------------------------------------------------------------

# Cross-reference engine (crossref). Thresholds are settings, not constants.
CROSSREF = {
    # SSN hash-range partitions of a run (one Celery task each); 0: by the cases in scope, one
    # partition per CASES_PER_PARTITION of them and at least two (one a worker process).
    "SSN_PARTITIONS": env_int("CROSSREF_SSN_PARTITIONS", 0),
    "CASES_PER_PARTITION": env_int("CROSSREF_CASES_PER_PARTITION", 62_500),
    # Every employer bucket aggregates all the cases in scope (peer rates need every employer), so
    # one bucket does that pass once; the SSN partitions run beside it.
    "EMPLOYER_PARTITIONS": env_int("CROSSREF_EMPLOYER_PARTITIONS", 1),
    # A partition's lease; the sweeper hands an expired one to another worker.
    "LEASE_SECONDS": env_int("CROSSREF_LEASE_SECONDS", 900),
    "RESEND_PENDING_AFTER_SECONDS": env_int("CROSSREF_RESEND_PENDING_AFTER_SECONDS", 1800),
    # SSN velocity: one SSN at >= K employers with cases inside WINDOW days.
    "VELOCITY_K": env_int("CROSSREF_VELOCITY_K", 3),
    "VELOCITY_WINDOW_DAYS": env_int("CROSSREF_VELOCITY_WINDOW_DAYS", 90),
    # ENF-LINK's match probabilities (crossref.linkage): at or above the first a lead, at or above
    # the second a low-severity lead for review.
    # A lead from one half up: the model finds the pair more likely the same person than not (the
    # Bayes decision, and Splink's default); the review threshold sends the doubtful ones to review.
    "LINKAGE_LEAD_PROBABILITY": float(env_str("CROSSREF_LINKAGE_LEAD_PROBABILITY", "0.5")),
    "LINKAGE_REVIEW_PROBABILITY": float(env_str("CROSSREF_LINKAGE_REVIEW_PROBABILITY", "0.3")),
    # Employer behaviour: one-sided z-test significance, and the minimum cases to judge an employer.
    "EMPLOYER_ALPHA": float(env_str("CROSSREF_EMPLOYER_ALPHA", "0.001")),
    "EMPLOYER_MIN_CASES": env_int("CROSSREF_EMPLOYER_MIN_CASES", 10),
    "TNC_IDLE_WORKING_DAYS": env_int("CROSSREF_TNC_IDLE_WORKING_DAYS", 10),
}

# --- Logging: structured JSON with the request id ------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.logging.RequestIdFilter"},
        "redact_identifiers": {"()": "core.redaction.RedactIdentifiersFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
            # Not the request Django attaches to 4xx/5xx records: its repr is the full path with
            # the query string, where the queue's search can name a person.
            "reserved_attrs": [*RESERVED_ATTRS, "request"],
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact_identifiers"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_identifiers"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("CROSSCHECK_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default configuration gives "django" a console handler of its own when DEBUG
        # is on (`make run`): with the root's JSON handler, every 4xx/5xx line (a refused case's
        # "Bad Request") came out twice. Its records go to the root's handler only.
        "django": {"handlers": ["mail_admins"], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # fpdf2 lays out the notices; fontTools, which subsets their font, logs every table at INFO.
        "fontTools": {"level": "WARNING"},
        # fpdf2 names the glyphs a font lacks, letters of a person's name: notices refuse those
        # before rendering instead (verification.notices.pdf).
        "fpdf": {"level": "ERROR"},
    },
}

# --- Keys ---------------------------------------------------------------------------------------
# Identifier encryption (AES-GCM): "kid:base64key,kid:base64key"; the first is the current key,
# the others still decrypt during a rotation. Blind index and audit HMAC keys are separate.
# The defaults are development-only and production.py refuses to start without real ones.
DATA_KEYS = env_str("CROSSCHECK_DATA_KEYS", "dev1:ZGV2LW9ubHktZGF0YS1rZXktMzJieXRlcy1sb25nISE=")
BLIND_INDEX_KEY = env_str("CROSSCHECK_BLIND_INDEX_KEY", "dev-only-blind-index-key")
AUDIT_HMAC_KEY = env_str("CROSSCHECK_AUDIT_HMAC_KEY", "dev-only-audit-hmac-key")

# Which agency owns each category of data (agency codes). Crossing from the owner to a user of
# another agency needs an agreement; crossing departments is an accountable disclosure.
CROSSCHECK_CATEGORY_OWNERS = {
    "ssa_identity": "ssa",
    "dhs_immigration": "uscis",
    "enforcement": "ice-hsi",
    "verification_cases": "uscis",
    "employer_data": "uscis",
}

# --- Notices to workers (verification/notices/) ---------------------------------------------------
# DejaVu Sans (vendored) prints Latin, Greek, Cyrillic and more; a host may add fonts for other
# scripts (e.g. Noto Sans CJK for Chinese names), tried in order where DejaVu has no glyph.
NOTICE_FALLBACK_FONTS = env_list("CROSSCHECK_NOTICE_FALLBACK_FONTS", [])

# --- Cases and triage (cases/) --------------------------------------------------------------------
# SLA of a flagged case, in federal working days from flagging, by severity.
CASES_SLA_WORKING_DAYS = {
    "high": env_int("CROSSCHECK_SLA_HIGH_DAYS", 5),
    "medium": env_int("CROSSCHECK_SLA_MEDIUM_DAYS", 10),
    "low": env_int("CROSSCHECK_SLA_LOW_DAYS", 20),
}
CASES_DUE_SOON_WORKING_DAYS = env_int("CROSSCHECK_DUE_SOON_DAYS", 2)  # "due soon" reminders
CASES_PRIORITY_BOOST_SCORE = 0.9  # a score at or above this moves a case up one priority step
CASES_FIELD_MATCH_SCORE = 0.999  # a compared field scoring below this is marked as disagreeing
# Computer Matching Act (p): calendar days the person has to contest after the notice is delivered.
CASES_CONTEST_WINDOW_DAYS = env_int("CROSSCHECK_CONTEST_WINDOW_DAYS", 30)
CASES_ANALYST_CAP = env_int("CROSSCHECK_ANALYST_CAP", 50)  # open cases per analyst for round-robin
CASES_MAX_SNOOZE_DAYS = env_int("CROSSCHECK_MAX_SNOOZE_DAYS", 90)
CASES_BULK_MAX = env_int("CROSSCHECK_BULK_MAX", 2000)  # cases one bulk action may touch
CASES_EXPORT_MAX = env_int("CROSSCHECK_EXPORT_MAX", 50000)  # rows one CSV export may hold
CASES_EVIDENCE_MAX_BYTES = env_int("CROSSCHECK_EVIDENCE_MAX_BYTES", 25 * 1024 * 1024)
CASES_DEFAULT_AGENCY = env_str(
    "CROSSCHECK_CASES_DEFAULT_AGENCY", "ice-hsi"
)  # owner when no routing rule matches
CASES_DEFAULT_UNIT = env_str(
    "CROSSCHECK_CASES_DEFAULT_UNIT", "worksite-a"
)  # its unit that receives them
CELERY_BEAT_SCHEDULE["cases-ingest"] = {
    "task": "cases.tasks.findings_ingest",
    "schedule": float(env_int("CROSSCHECK_CASES_INGEST_SECONDS", 30)),
}
CELERY_BEAT_SCHEDULE["cases-reminders"] = {"task": "cases.tasks.reminders_send", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["cases-change-log-prune"] = {
    "task": "cases.tasks.change_log_prune",
    "schedule": 3600.0,
}
# --- end of cases ----------------------------------------------------------------------------------

# --- Privacy and access (privacy/) ---------------------------------------------------------------
PRIVACY_SITE_URL = env_str("CROSSCHECK_SITE_URL", "http://127.0.0.1:8000")  # links in e-mails
PRIVACY_INVITATION_DAYS = env_int("CROSSCHECK_INVITATION_DAYS", 7)
# Revealing a full identifier needs a second-factor check this recent (seconds).
PRIVACY_REVEAL_REVERIFY_SECONDS = env_int("CROSSCHECK_REVEAL_REVERIFY_SECONDS", 300)
# Reveals or SSN searches per user per minute; beyond it 429 and an anomaly for supervisors.
PRIVACY_SENSITIVE_RATE_PER_MINUTE = env_int("CROSSCHECK_SENSITIVE_RATE_PER_MINUTE", 10)
PRIVACY_BREAK_GLASS_HOURS = env_int("CROSSCHECK_BREAK_GLASS_HOURS", 4)
# Password-reset requests per clock hour, per address asked for and per client; beyond, no mail.
PRIVACY_PASSWORD_RESET_PER_ACCOUNT = env_int("CROSSCHECK_PASSWORD_RESET_PER_ACCOUNT", 3)
PRIVACY_PASSWORD_RESET_PER_CLIENT = env_int("CROSSCHECK_PASSWORD_RESET_PER_CLIENT", 10)
# Privacy Act requests, in federal working days: acknowledge in 10; respond (agency practice) in 30.
PRIVACY_ACK_WORKING_DAYS = env_int("CROSSCHECK_PRIVACY_ACK_DAYS", 10)
PRIVACY_RESPONSE_WORKING_DAYS = env_int("CROSSCHECK_PRIVACY_RESPONSE_DAYS", 30)
PRIVACY_DISCLOSURE_RETENTION_YEARS = 5  # 552a(c)(2): 5 years or the life of the record, the longer
PRIVACY_PURGE_CHUNK = env_int("CROSSCHECK_PURGE_CHUNK", 500)
CELERY_BEAT_SCHEDULE["privacy-grants-tidy"] = {
    "task": "privacy.tasks.grants_tidy",
    "schedule": 86400.0,
}
CELERY_BEAT_SCHEDULE["privacy-expiry-warnings"] = {
    "task": "privacy.tasks.agreement_expiry_warnings",
    "schedule": 86400.0,
}
CELERY_BEAT_SCHEDULE["privacy-recertification"] = {
    "task": "privacy.tasks.recertification_deadlines",
    "schedule": 86400.0,
}
# --- end of privacy ------------------------------------------------------------------------------

# --- Staff e-mail preferences and single sign-on (issue 21) ----------------------------------------
# The daily digest goes out at this hour (TIME_ZONE); unsubscribe links stay valid this many days.
MAIL_DIGEST_HOUR = env_int("CROSSCHECK_MAIL_DIGEST_HOUR", 7)


def _local_now() -> datetime:
    """Now in TIME_ZONE, for schedules stated in local time."""
    return datetime.now(ZoneInfo(TIME_ZONE))


MAIL_UNSUBSCRIBE_MAX_AGE = env_int("CROSSCHECK_MAIL_UNSUBSCRIBE_DAYS", 365) * 86400
CELERY_BEAT_SCHEDULE["privacy-mail-digest"] = {
    "task": "privacy.tasks.mail_digests",
    # crontab reads the hour in Celery's time zone (UTC unless CELERY_TIMEZONE says otherwise):
    # the digest hour is meant in the project's TIME_ZONE, so nowfun makes it local.
    "schedule": crontab(hour=MAIL_DIGEST_HOUR, minute=0, nowfun=_local_now),
}
CELERY_BEAT_SCHEDULE["privacy-grant-expiry-warnings"] = {
    "task": "privacy.tasks.grant_expiry_warnings",
    "schedule": 86400.0,
}
CELERY_BEAT_SCHEDULE["verification-apikey-expiry-warnings"] = {
    "task": "verification.tasks.apikey_expiry_warnings",
    "schedule": 86400.0,
}
# OpenID Connect (privacy/sso/): identity providers are configured per agency in the app; these
# are the client's own limits. mozilla-django-oidc reads OIDC_TIMEOUT and OIDC_VERIFY_SSL.
OIDC_TIMEOUT = env_int("CROSSCHECK_SSO_HTTP_TIMEOUT", 10)
OIDC_VERIFY_SSL = env_bool("CROSSCHECK_SSO_VERIFY_TLS", True)
# Issuers must be https:// (development and tests may allow http://).
SSO_ALLOW_HTTP_ISSUER = env_bool("CROSSCHECK_SSO_ALLOW_HTTP_ISSUER", False)
SSO_CLOCK_SKEW_SECONDS = env_int("CROSSCHECK_SSO_CLOCK_SKEW_SECONDS", 60)
SSO_DISCOVERY_CACHE_SECONDS = env_int("CROSSCHECK_SSO_DISCOVERY_CACHE_SECONDS", 3600)
# A login must come back from the identity provider within this many seconds of starting.
SSO_STATE_MAX_AGE = env_int("CROSSCHECK_SSO_STATE_SECONDS", 600)
# --- end of e-mail preferences and single sign-on ------------------------------------------------
