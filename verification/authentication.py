"""Employer API keys: `Authorization: Bearer ccv1_...`, checked by SHA-256 in one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from audit import context
from audit.models import Outcome
from audit.services import event_record
from core.prepared import execute_prepared
from verification.models import Employer, EmployerApiKey, EmployerStatus
from verification.services.employers import API_KEY_PREFIX, hash_api_key

# last_used_at is written at most this often per key, so a busy key costs no write per request.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class EmployerPrincipal:
    """What `request.user` is for an API-key request: the employer's system, not a person."""

    key: EmployerApiKey

    is_authenticated = True
    is_active = True
    is_anonymous = False
    pk = None
    roles: tuple[str, ...] = ()
    agency = None

    @property
    def employer_id(self) -> int:
        """The one employer this key may act for."""
        return self.key.employer_id

    @property
    def username(self) -> str:
        """How the key shows in logs."""
        return f"apikey:{self.key.prefix}"


@cache
def _key_query() -> tuple[str, list[str], list[str]]:
    """The key with a hash, usable now, and its employer: every column of both, in the models'
    field order (the row `select_related("employer")` reads), and the two models' field names;
    built once per process."""
    q = connection.ops.quote_name
    key_fields, employer_fields = (
        list(model._meta.concrete_fields) for model in (EmployerApiKey, Employer)
    )
    columns = [f"k.{q(f.column)}" for f in key_fields] + [
        f"e.{q(f.column)}" for f in employer_fields
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM {q(EmployerApiKey._meta.db_table)} k "  # noqa: S608  # nosec B608 # the models' own table and column names
        f"JOIN {q(Employer._meta.db_table)} e ON e.id = k.employer_id "
        "WHERE k.key_hash = %s AND k.revoked_at IS NULL AND k.expires_at > %s"
    )
    return sql, [f.attname for f in key_fields], [f.attname for f in employer_fields]


def key_for(raw: str) -> EmployerApiKey | None:
    """The usable key with this value, if any (active employer, not revoked, not expired)."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 100:
        return None
    # Every API request asks this: a statement prepared once per session (compiling the ORM's
    # query cost more than the database spends answering it); key_hash is unique.
    sql, key_fields, employer_fields = _key_query()
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            name="apikey_by_hash",
            sql=sql,
            params=[hash_api_key(raw), timezone.now()],
            variable={0, 1},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(key_fields)
    key = EmployerApiKey.from_db(connection.alias, key_fields, row[:n])
    employer = Employer.from_db(connection.alias, employer_fields, row[n:])
    EmployerApiKey.employer.field.set_cached_value(key, employer)
    if employer.status != EmployerStatus.ACTIVE:
        return None
    return key


class EmployerApiKeyAuthentication(BaseAuthentication):
    """Bearer employer API keys; binds the key and employer to the audit context."""

    def authenticate(self, request: Any) -> tuple[EmployerPrincipal, EmployerApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <API key>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        key = key_for(raw)
        if key is None:
            event_record(
                action="apikey.rejected",
                outcome=Outcome.DENIED,
                object_type="employer_api_key",
                detail={
                    "prefix": raw[: len(API_KEY_PREFIX) + 6]
                    if raw.startswith(API_KEY_PREFIX)
                    else ""
                },
            )
            raise exceptions.AuthenticationFailed("The API key is unknown, expired or revoked.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
            EmployerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        context.bind(api_key_id=key.pk, employer_id=key.employer_id)
        return EmployerPrincipal(key), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="crosscheck-employer-api"'


class IsEmployerKey(BasePermission):
    """Only requests authenticated by an employer API key."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, EmployerApiKey)


class HasKeyScope(BasePermission):
    """The key's scopes cover the operation (`view.scopes`: HTTP method -> scope); refusals are audited."""

    message = "This API key's scopes do not allow this operation."

    def has_permission(self, request: Any, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, EmployerApiKey):
            return False
        needed = getattr(view, "scopes", {}).get(request.method)
        if needed is None or needed in key.scopes:
            return True
        event_record(
            action="apikey.scope_denied",
            outcome=Outcome.DENIED,
            object_type="employer_api_key",
            object_id=key.pk,
            subjects=[f"employer:{key.employer_id}"],
            detail={"needed": needed, "scopes": list(key.scopes), "path": request.path[:200]},
        )
        return False


class EmployerApiKeySchema(OpenApiAuthenticationExtension):
    """Describes employer API keys in the OpenAPI schema (a bearer token)."""

    target_class = EmployerApiKeyAuthentication
    name = "EmployerApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An employer API key, issued by an admin and shown once: `Authorization: Bearer <key>`.",
        }
