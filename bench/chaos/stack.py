"""The chaos harness's own processes: a private PostgreSQL cluster, a private Redis, Celery.

Nothing here touches the servers other people use: the cluster is initdb'd into the harness's
work directory on a spare port (so `pg_ctl -m immediate stop` stops only it), Redis is a second
`redis-server` on a spare port (so `SHUTDOWN NOSAVE` stops only it), and the checkpoint directory
is a small tmpfs of its own (so filling it fills nothing else).

The Celery workers and beat are started as `config/run.py` starts them, each in its own process
group, and a supervisor thread restarts any that dies, as systemd or a container runtime would:
that is not a person stepping in.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)


def spare_port() -> int:
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def faketime_library() -> str | None:
    """libfaketime's preload library (Debian: `apt-get install libfaketime`), if installed."""
    return next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


# --- PostgreSQL ------------------------------------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL cluster of the harness's own, on a spare port, that it may stop at will."""

    def __init__(self, work: Path) -> None:
        self.dir = work / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = spare_port()
        self.bin = self._bindir()

    @staticmethod
    def _bindir() -> Path:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda p: int(Path(p).parent.parent.name),
        )
        if found:
            return Path(found[-1]).parent
        initdb = shutil.which("initdb")
        if initdb is None:
            raise RuntimeError(
                "initdb not found: install PostgreSQL (Debian: apt-get install postgresql)"
            )
        return Path(initdb).parent

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # PostgreSQL refuses to run as root: as root, its commands run as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *args], check=check, capture_output=True, text=True, cwd="/"
        )

    def init(self) -> None:
        """initdb into the work directory (trust on loopback) and start it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C.UTF-8",
        )
        self.start()

    def start(self) -> None:
        """Start (or restart after an immediate stop: PostgreSQL runs crash recovery)."""
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c shared_buffers=256MB -c max_connections=200 -c max_wal_size=4GB "
            "-c checkpoint_timeout=15min -c log_min_messages=warning"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "300",
            "start",
        )

    def stop_immediate(self) -> None:
        """The fault: every backend killed, no shutdown checkpoint (crash recovery at start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop", check=False)

    @property
    def base_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"


# --- Redis -----------------------------------------------------------------------------------
class PrivateRedis:
    """A second redis-server on a spare port, without persistence: a restart loses every message."""

    def __init__(self, work: Path) -> None:
        self.dir = work / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = spare_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(self.ping, 30, "the private Redis")

    def ping(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return done.stdout.strip() == "PONG"

    def shutdown_nosave(self) -> None:
        """The fault: `redis-cli SHUTDOWN NOSAVE`; every queued and unacknowledged message is gone."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "SHUTDOWN", "NOSAVE"], capture_output=True
        )
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.shutdown_nosave()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


# --- The checkpoint directory ------------------------------------------------------------------
class CheckpointDisk:
    """The audit checkpoint directory on a small tmpfs of its own, which the disk-full fault fills."""

    SIZE = "2m"

    def __init__(self, work: Path) -> None:
        self.dir = work / "checkpoints"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.filler = self.dir / "filler"
        self.mounted = False
        self.why_not = ""
        if os.geteuid() != 0:
            self.why_not = "mounting a tmpfs needs root"
            return
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.SIZE},mode=0755", "tmpfs", str(self.dir)],
            capture_output=True,
            text=True,
        )
        self.mounted = done.returncode == 0
        self.why_not = "" if self.mounted else f"mount failed: {done.stderr.strip()}"

    @property
    def path(self) -> Path:
        return self.dir / "checkpoints.jsonl"

    def fill(self) -> int:
        """Write a file until the filesystem refuses (ENOSPC); returns the bytes written."""
        written = 0
        block = b"\0" * 4096
        with self.filler.open("wb", buffering=0) as fh:
            while True:
                try:
                    n = fh.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
                written += n or 0
                if not n:
                    break
        return written

    def size(self) -> int:
        """The checkpoint file's size (0 before the first)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()

    def close(self) -> None:
        self.free()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)
            self.mounted = False


# --- Celery ----------------------------------------------------------------------------------
@dataclass
class Proc:
    """One Celery process (a worker with its pool, or beat) in a process group of its own."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    autorestart: bool = True

    def start(self) -> None:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> int:
        """The fault: SIGKILL to the whole group (the main process and its pool children)."""
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        return self.popen.pid

    def stop(self) -> None:
        """Warm shutdown of the main process, then the rest of its group killed."""
        self.autorestart = False
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)


@dataclass
class Celery:
    """Two workers on both queues and beat, with a supervisor that restarts whatever dies."""

    env: dict[str, str]
    logs: Path
    worker_env: list[dict[str, str]] = field(default_factory=lambda: [{}, {}])
    procs: list[Proc] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        python = [sys.executable, "-m", "celery", "-A", "config"]
        for i, extra in enumerate(self.worker_env):
            cmd = [
                *python,
                "worker",
                "-Q",
                "interactive,batch",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"chaos{i}-{os.getpid()}@%h",
            ]
            self.procs.append(
                Proc(f"worker{i}", cmd, {**self.env, **extra}, self.logs / f"worker{i}.log")
            )
        schedule = self.logs / "celerybeat-schedule"
        for leftover in glob.glob(f"{schedule}*"):
            os.unlink(leftover)
        beat = [*python, "beat", "--loglevel", "WARNING", "--schedule", str(schedule)]
        self.procs.append(Proc("beat", beat, self.env, self.logs / "beat.log"))
        for proc in self.procs:
            proc.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._supervise, daemon=True)
        self._thread.start()

    @property
    def workers(self) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith("worker")]

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for proc in self.procs:
                if proc.autorestart and not proc.alive():
                    time.sleep(1.0)  # a supervisor's back-off before the restart
                    if self._stop.is_set():
                        return
                    proc.restarts += 1
                    proc.start()

    def restarts(self) -> int:
        return sum(p.restarts for p in self.procs)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for proc in self.procs:
            proc.stop()
        self.procs = []
