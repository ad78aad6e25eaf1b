"""Each employer API key's rate limit: DRF throttling over the Redis cache, 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from audit.models import Outcome
from audit.services import event_record
from verification.models import EmployerApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests a minute per key (`EmployerApiKey.rate`), counted in the shared cache (Redis), so
    every web process sees the same count."""

    cache = cache
    scope = "employer_api_key"

    def get_rate(self) -> str | None:
        return None  # set per key in allow_request

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        key = request.auth
        return f"apikey-rate:{key.pk}" if isinstance(key, EmployerApiKey) else None

    def allow_request(self, request: Any, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, EmployerApiKey):
            return True
        self.rate = f"{key.rate}/min"
        self.num_requests, self.duration = key.rate, 60
        allowed = super().allow_request(request, view)
        if not allowed and len(self.history) == self.num_requests:
            # Once per window, not once per refused request: the trail says a key hit its limit.
            event_record(
                action="apikey.throttled",
                outcome=Outcome.DENIED,
                object_type="employer_api_key",
                object_id=key.pk,
                subjects=[f"employer:{key.employer_id}"],
                detail={"rate_per_minute": key.rate},
            )
        return allowed

    def throttle_failure(self) -> bool:
        # Refused requests are not added to the history, so a client that waits Retry-After
        # seconds gets through.
        return False
