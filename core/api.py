"""One DRF exception handler: domain errors and validation errors in one consistent format.

Every error body is {"error": {"code": ..., "message": ..., "fields": {name: [messages]}}}.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

logger = logging.getLogger(__name__)


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    out[f"{key}.{sub}"] = messages
            elif isinstance(value, list):
                out[str(key)] = [str(v) for v in value if not isinstance(v, dict)] or [
                    str(m) for d in value if isinstance(d, dict) for m in _flatten(d).values()
                ]
            else:
                out[str(key)] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def _submitted(context: dict[str, Any]) -> set[str]:
    """Every string value of the request's body and query (the values an error must not echo)."""
    request = context.get("request")
    values: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value.strip()) >= 4:
            values.add(value.strip())

    for source in ("data", "query_params"):
        try:
            data = getattr(request, source, None)
        except exceptions.ParseError:  # the body did not parse: nothing of it can be echoed
            continue
        if data is not None:
            walk(data.dict() if hasattr(data, "dict") else data)
    return values


def _unechoed(fields: dict[str, list[str]], context: dict[str, Any]) -> dict[str, list[str]]:
    """Field messages without the values the client sent ('"123-45-6789" is not a valid choice'):
    an identifier typed into the wrong field must not come back in the answer, nor reach a log."""
    return unechoed(fields, _submitted(context))


def unechoed(fields: dict[str, list[str]], submitted: set[str]) -> dict[str, list[str]]:
    """Field messages with each submitted value (of 4+ characters) replaced by "…"; for screens too."""
    values = sorted((v for v in submitted if len(v.strip()) >= 4), key=len, reverse=True)
    # Whole values only (not "100" inside "1000"), longest first.
    sent = [re.compile(rf"(?<!\w){re.escape(v)}(?!\w)") for v in values]

    def clean(message: str) -> str:
        for pattern in sent:
            message = pattern.sub("…", message)
        return message

    return {name: [clean(m) for m in messages] for name, messages in fields.items()}


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The one error format of the API."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain errors and DRF errors to the one error format; never leak internals."""
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.message or exc.code.replace("_", " "), exc.field_errors),
            status=exc.status_code,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "invalid", "The request has invalid fields.", _unechoed(_flatten(exc.detail), context)
        )
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = error_body(str(code), str(detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = "Bearer"
    return response
