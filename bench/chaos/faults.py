"""The faults the harness injects, each at seeded points of a round, each printed as it lands.

A point is a fraction of the undisturbed round's duration of the phase under test (the
cross-reference run, or the ingest of its findings into flagged cases), counted from the start
of that phase, so a fault always lands while there is work in flight.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.chaos.stack import faketime_library

if TYPE_CHECKING:
    from bench.chaos.harness import Harness
    from bench.chaos.stack import Celery

FAULTS = ("kill", "redis", "postgres", "clock", "disk")
CLOCK_AHEAD = "+10m"


@dataclass
class Fault:
    """A fault: its points, what it does at each, and the worker environments it needs."""

    name: str
    title: str
    points: list[float]
    action: Callable[[Harness, Celery, random.Random], str]
    worker_env: list[dict[str, str]] = field(default_factory=lambda: [{}, {}])
    events: list[tuple[float, str]] = field(default_factory=list)
    last_end: float | None = None
    skipped: str = ""


def _kill(h: Harness, celery: Celery, rng: random.Random) -> str:
    # A point that falls while both workers are still being restarted waits for one to be back.
    deadline = time.monotonic() + 120
    while not (alive := [w for w in celery.workers if w.alive()]):
        if time.monotonic() > deadline:
            return "no worker alive to kill"
        time.sleep(0.2)
    victim = rng.choice(alive)
    pid = victim.kill9()
    return f"kill -9 {victim.name} (pid {pid})"


def _redis(h: Harness, celery: Celery, rng: random.Random) -> str:
    h.redis.shutdown_nosave()
    time.sleep(h.cfg.down_seconds)
    h.redis.start()
    return f"redis-cli SHUTDOWN NOSAVE, restarted {h.cfg.down_seconds:.0f}s later"


def _postgres(h: Harness, celery: Celery, rng: random.Random) -> str:
    assert h.pg is not None
    h.pg.stop_immediate()
    time.sleep(h.cfg.down_seconds)
    h.pg.start()
    return f"pg_ctl -m immediate stop, restarted {h.cfg.down_seconds:.0f}s later"


def _disk(h: Harness, celery: Celery, rng: random.Random) -> str:
    filled = h.disk.fill()
    # A full filesystem still takes appends into the checkpoint file's last, partly used page:
    # the disk stays full until three checkpoint intervals in a row add nothing, so that
    # checkpoints are really refused (and one is cut short at the page's end).
    started = time.monotonic()
    quiet = 3 * h.checkpoint_seconds
    last_size, last_change = h.disk.size(), time.monotonic()
    while time.monotonic() - last_change < quiet and time.monotonic() - started < 300:
        time.sleep(0.5)
        if (size := h.disk.size()) != last_size:
            last_size, last_change = size, time.monotonic()
    h.disk.free()
    return (
        f"checkpoint disk filled ({filled:,} bytes), freed {time.monotonic() - started:.0f}s later"
    )


def build(name: str, rng: random.Random, h: Harness) -> Fault:
    """The fault `name` with its seeded points (fractions of the phase's undisturbed duration)."""
    if name == "kill":
        points = sorted(rng.uniform(0.1, 0.9) for _ in range(5))
        return Fault(name, "kill -9 of a worker, five times", points, _kill)
    if name == "redis":
        return Fault(name, "Redis SHUTDOWN NOSAVE + restart", [rng.uniform(0.2, 0.6)], _redis)
    if name == "postgres":
        fault = Fault(
            name, "PostgreSQL immediate stop + restart", [rng.uniform(0.2, 0.6)], _postgres
        )
        if h.pg is None:
            fault.skipped = "the harness was given a shared server (--postgres): never stopped"
        return fault
    if name == "clock":
        fault = Fault(name, "a worker's clock 10 minutes ahead", [], lambda *_: "")
        lib = faketime_library()
        if lib is None:
            fault.skipped = "libfaketime is not installed (apt-get install libfaketime)"
        else:
            # The whole of worker0 (its pool included) lives 10 minutes ahead; PostgreSQL and the
            # other worker keep the true time.
            fault.worker_env = [
                {"LD_PRELOAD": lib, "FAKETIME": CLOCK_AHEAD, "FAKETIME_DONT_RESET": "1"},
                {},
            ]
        return fault
    if name == "disk":
        fault = Fault(name, "checkpoint directory's disk full", [rng.uniform(0.2, 0.5)], _disk)
        if not h.disk.mounted:
            fault.skipped = f"no filesystem of its own for the checkpoints ({h.disk.why_not})"
        return fault
    raise ValueError(f"unknown fault {name!r}; one of {', '.join(FAULTS)}")
