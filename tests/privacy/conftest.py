"""Privacy test fixtures: a registered in-memory personal-data source and a clean Redis."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from privacy import registry
from tests.privacy.sources import MemorySource


@pytest.fixture
def source():
    """An in-memory source registered for the test, unregistered after."""
    src = registry.register(MemorySource())
    yield src
    registry.unregister(src.name)


@pytest.fixture(autouse=True)
def _no_rate_counters():
    """Rate-limit counters live in Redis; each test starts from none (only those keys are removed)."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match="*privacy:*"):
        client.delete(key)
