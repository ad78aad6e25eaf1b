"""Sets the audit context for the request. It writes nothing (STYLE.md rule 10)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit import context


class AuditContextMiddleware:
    """Bind the user, IP, user agent and request id of this request to the audit context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        token = context.bind(
            user=user if user is not None and user.is_authenticated else None,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.headers.get("User-Agent", "")[:400],
            request_id=getattr(request, "request_id", ""),
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
