"""Each employer API key's rate limit: a sliding minute counted in Redis, 429 with Retry-After.

The count is one Lua script per request (`_SCRIPT`), so it is atomic across every web process and
thread: two requests at once cannot both take the last slot, as a read-then-write of a cached list
could. Redis keeps each key's request times of the last minute in a sorted set; a request costs
one round trip and O(log n) work there, whatever the key's rate (the cached list it replaced was
read and written whole on every request: 24,000 timestamps at 400 requests/s).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from audit.models import Outcome
from audit.services import event_record
from verification.models import EmployerApiKey

WINDOW_SECONDS = 60

# KEYS[1]: the key's request times (a sorted set, microseconds of the Redis server's clock, each
# member its own score); KEYS[2]: "a refusal was audited" until the window frees a slot.
# ARGV[1]: requests allowed per window; ARGV[2]: the window in microseconds.
# Returns {allowed, microseconds until a slot frees (refused only), first refusal of the window}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  while redis.call('ZADD', KEYS[1], 'NX', now, now) == 0 do now = now + 1 end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0, 0}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
local wait = math.max(1, oldest + window - now)
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', math.ceil(wait / 1000))
return {0, wait, first and 1 or 0}
"""

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _script() -> Any:
    """The registered script on a client of the cache's Redis (one pool per process and URL)."""
    location = settings.CACHES["default"]["LOCATION"]
    script = _clients.get(location)
    if script is None:
        with _clients_lock:
            script = _clients.get(location)
            if script is None:
                script = redis.Redis.from_url(location).register_script(_SCRIPT)
                _clients[location] = script
    return script


def take(key: EmployerApiKey) -> tuple[bool, float, bool]:
    """Count one request of `key`: (allowed, seconds until a slot frees, first refusal of the window)."""
    allowed, wait, first = _script()(
        keys=[cache.make_key(f"apikey-rate:{key.pk}"), cache.make_key(f"apikey-refused:{key.pk}")],
        args=[key.rate, WINDOW_SECONDS * 1_000_000],
    )
    return bool(allowed), int(wait) / 1_000_000, bool(first)


class ApiKeyRateThrottle(BaseThrottle):
    """At most `EmployerApiKey.rate` requests in any minute per key, counted in Redis, so every
    web process sees the same count. Refused requests are not counted: a client that waits
    Retry-After seconds gets through."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, EmployerApiKey):
            return True
        allowed, self._wait, first = take(key)
        if not allowed and first:
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

    def wait(self) -> float | None:
        """Seconds until the oldest counted request leaves the window (Retry-After, rounded up)."""
        return None if self._wait is None else float(math.ceil(self._wait))
