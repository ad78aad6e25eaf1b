"""The chaos harness's fast half (issue 18 §1): 20k cases, a worker killed five times, Redis lost.

Real processes throughout: two Celery workers and beat on a private redis-server (a second one,
on a spare port, so that SHUTDOWN NOSAVE loses only the harness's messages), and a database of
its own on the test PostgreSQL server (never stopped: the PostgreSQL, clock and disk faults are
`make chaos`'s). After each fault the run must finish by itself with the undisturbed run's
findings and flagged cases, nothing twice, the chain verified and the checkpoint caught up.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from bench.chaos import checks
from bench.chaos.harness import Config, Harness


@pytest.mark.worker
@pytest.mark.slow
def test_a_run_hit_by_killed_workers_and_a_lost_redis_ends_as_an_undisturbed_one():
    url = urlsplit(settings.DATABASE_URL)
    server = urlunsplit((url.scheme, url.netloc, "", "", ""))
    test_db = os.environ.get("CROSSCHECK_TEST_DB", "test_crosscheck")
    cfg = Config(
        scale=20_000,
        seed=11,
        faults=["kill", "redis"],
        phases=["run"],
        postgres=server,
        database=f"chaos_{test_db}",
        down_seconds=2.0,
        say=False,
    )
    with Harness(cfg) as harness:
        reference, results = harness.run_all()

    assert reference.outcome.status == "done"
    assert reference.outcome.findings > 100  # the data gives the rules something to find
    assert reference.outcome.cases > 100
    assert reference.outcome.chain_ok, reference.outcome.chain_detail
    assert [r.fault for r in results] == ["kill", "redis"]
    kill, redis = results
    assert len(kill.events) == 5
    assert all(what.startswith("kill -9 worker") for _at, what in kill.events)
    assert kill.round is not None
    assert kill.round.restarts == 5  # the supervisor brought each back
    assert redis.events
    assert "SHUTDOWN NOSAVE" in redis.events[0][1]
    for result in results:
        got = result.round.outcome
        differences = checks.case_differences(got, reference.outcome)
        assert got.status == "done", result.line()
        assert got.findings_digest == reference.outcome.findings_digest, result.line()
        assert got.cases_digest == reference.outcome.cases_digest, differences
        assert got.duplicates == 0, result.line()
        assert got.pending == 0, result.line()
        assert got.chain_ok, got.chain_detail
        assert got.checkpoint_seq >= got.head_seq, result.line()
        assert result.equal
