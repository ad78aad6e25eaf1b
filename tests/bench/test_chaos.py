"""The chaos harness's fast half (issue 18 §1): 20k cases, a worker killed five times and Redis
lost during the cross-reference run, then a worker killed five times during two bulk imports of
2,000 rows (each import round costs the suite about 25 s; `make chaos` runs every fault).

Real processes throughout: two Celery workers and beat on a private redis-server (a second one,
on a spare port, so that SHUTDOWN NOSAVE loses only the harness's messages), and a database of
its own on the test PostgreSQL server (never stopped: the PostgreSQL, clock and disk faults are
`make chaos`'s). After each fault the run must finish by itself with the undisturbed run's
findings and flagged cases, nothing twice, the chain verified and the checkpoint caught up; each
import round with the undisturbed import's cases (keys, employer case ids, instant results) and
bad-row report, both jobs done, no case twice, the chain verified and the checkpoint caught up.
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
def test_a_run_and_an_import_hit_by_killed_workers_and_a_lost_redis_end_as_undisturbed_ones(capsys):
    url = urlsplit(settings.DATABASE_URL)
    server = urlunsplit((url.scheme, url.netloc, "", "", ""))
    test_db = os.environ.get("CROSSCHECK_TEST_DB", "test_crosscheck")
    cfg = Config(
        scale=20_000,
        seed=11,
        faults=["kill", "redis"],
        phases=["run", "import"],
        import_rows=2_000,
        import_faults=["kill"],
        postgres=server,
        database=f"chaos_{test_db}",
        down_seconds=2.0,
        say=False,
    )
    with Harness(cfg) as harness:
        reference, results = harness.run_all()
    with capsys.disabled():
        print(  # noqa: T201 - what each half costs the suite
            f"\nchaos fast half: set-up {harness.seconds['world']:.0f}s, run phase "
            f"{harness.seconds['crossref']:.0f}s, import phase {harness.seconds['import']:.0f}s "
            "(its world included)"
        )

    assert reference.outcome.status == "done"
    assert reference.outcome.findings > 100  # the data gives the rules something to find
    assert reference.outcome.cases > 100
    assert reference.outcome.chain_ok, reference.outcome.chain_detail
    assert [(r.phase, r.fault) for r in results] == [
        ("run", "kill"),
        ("run", "redis"),
        ("import", "kill"),
    ]
    kill, redis, import_kill = results
    assert len(kill.events) == 5
    assert all(what.startswith("kill -9 worker") for _at, what in kill.events)
    assert kill.round is not None
    assert kill.round.restarts == 5  # the supervisor brought each back
    assert redis.events
    assert "SHUTDOWN NOSAVE" in redis.events[0][1]
    for result in (kill, redis):
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

    reference = import_kill.reference.outcome
    assert [job[:3] for job in reference.jobs] == [
        ("all-good.csv", "all_or_nothing", "done"),
        ("mixed.csv", "good_rows", "done"),
    ]
    assert reference.cases == 1_980  # 2,000 rows, of which 2% of the mixed file's are bad
    assert reference.errors >= 20
    assert reference.chain_ok, reference.chain_detail
    assert len(import_kill.events) == 5
    assert import_kill.round is not None
    assert import_kill.round.restarts == 5
    got = import_kill.round.outcome
    assert got.jobs == reference.jobs, import_kill.line()
    assert got.cases_digest == reference.cases_digest, import_kill.line()
    assert got.errors_digest == reference.errors_digest, import_kill.line()
    assert got.duplicates == 0, import_kill.line()
    assert got.chain_ok, got.chain_detail
    assert got.checkpoint_seq >= got.head_seq, import_kill.line()
    assert import_kill.equal
