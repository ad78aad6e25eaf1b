"""Request-id middleware (every request gets an id that logs and audit events carry), and the
refusal of query strings no page or filter can mean (a NUL character)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from core.api import error_body
from core.logging import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Take a well-formed X-Request-ID from the proxy, or make one; echo it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class NulQueryMiddleware:
    """A query string with a NUL character is refused with a 400, before any view reads it.

    No search, filter or page number can mean one, and PostgreSQL cannot hold one in a string: a
    filter that reached the database with it was a 500. The API answers in its error format.
    """

    MESSAGE = "The query string holds a NUL character."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = sorted(
            key.replace("\x00", "") or "query"
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in v for v in values)
        )
        if not fields:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            body = error_body("invalid", self.MESSAGE, {f: ["NUL is not allowed."] for f in fields})
            return JsonResponse(body, status=400)
        return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
