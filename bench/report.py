"""One report of every goal `make bench` measured: JSON and Markdown under bench/results/, and the README.

Each area calls `goal(...)` where it states a goal: the figure, the bound, met or not. At the end of
`make bench`, `write()` saves `bench/results/<date>-<commit>.json` and a Markdown table beside it,
with the machine's facts (cores, memory, load, PostgreSQL's version and settings, Python), then
regenerates the README's performance section from the newest result of each area (`readme`), so
the README is never typed by hand.

    make bench-compare A=bench/results/x.json B=bench/results/y.json   # the change between two results
    python -m bench.report readme                                      # regenerate the README section

A run with errors says so: `note(...)` records a warning that the table prints in bold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR", str(ROOT / "bench" / "results")))
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PG_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "jit",
    "synchronous_commit",
)


@dataclass
class Goal:
    """One goal's figure against its bound."""

    area: str
    name: str
    figure: float
    op: str  # "<=" or ">="
    bound: float
    unit: str = ""
    detail: str = ""

    @property
    def met(self) -> bool:
        if self.figure != self.figure:  # NaN: nothing measured
            return False
        return self.figure <= self.bound if self.op == "<=" else self.figure >= self.bound

    def text(self) -> str:
        return f"(goal {self.op} {_fmt(self.bound)}{self.unit}) {'MET' if self.met else 'NOT MET'}"


@dataclass
class Report:
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)


REPORT = Report()


def _fmt(x: float) -> str:
    if x != x:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def goal(
    area: str, name: str, figure: float, op: str, bound: float, *, unit: str = "", detail: str = ""
) -> str:
    """Record a goal's figure; returns "(goal <= 4x) MET" for the area's own printed line."""
    if op not in ("<=", ">="):
        raise ValueError(f"op must be <= or >=, not {op!r}")
    g = Goal(area, name, float(figure), op, float(bound), unit, detail)
    REPORT.goals.append(g)
    return g.text()


def note(text: str) -> None:
    """A warning the report must show (errors during a load test, a skipped part)."""
    REPORT.notes.append(text)
    print(f"!! {text}", flush=True)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    """The facts a reader needs to weigh the figures."""
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        total = next(x for x in meminfo if x.startswith("MemTotal"))
        facts["memory_gib"] = round(int(total.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        facts["memory_gib"] = None
    facts["postgresql"] = _postgres()
    return facts


def _postgres() -> dict[str, str]:
    """The server's version and settings, read through its maintenance database: the bench's own
    database may already be dropped when the report is written."""
    try:
        url = urlsplit(
            os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        )
        server = urlunsplit((url.scheme, url.netloc, "/postgres", url.query, ""))
        with psycopg2.connect(server, connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SHOW server_version")
            out = {"version": cur.fetchone()[0]}
            for name in PG_SETTINGS:
                cur.execute(f"SHOW {name}")  # names from the constant above
                out[name] = cur.fetchone()[0]
            return out
    except Exception as exc:
        return {"error": str(exc)[:200]}


def write(argv: list[str]) -> Path | None:
    """Save the run's goals (JSON and Markdown) and regenerate the README section."""
    if not REPORT.goals and not REPORT.notes:
        return None
    RESULTS.mkdir(parents=True, exist_ok=True)
    commit = _git("rev-parse", "--short", "HEAD") or "nogit"
    # The README section is this tool's own output (an earlier area of the same `make bench`
    # rewrote it): it does not make the measured code dirty.
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!README.md"))
    now = datetime.now(UTC)
    data = {
        "when": now.isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": dirty,
        "command": " ".join(argv),
        "areas": REPORT.areas,
        "machine": machine(),
        "goals": [{**asdict(g), "met": g.met} for g in REPORT.goals],
        "notes": REPORT.notes,
    }
    stem = f"{now:%Y-%m-%dT%H%M%S}-{commit}{'-dirty' if dirty else ''}"
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(data) + "\n")
    print(f"bench report: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    readme()
    return path


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    pg = m.get("postgresql", {})
    lines = [
        f"Measured {data['when']} at commit {data['commit']}{' (uncommitted changes)' if data['dirty'] else ''}"
        f" by `{data['command']}`.",
        "",
        "| area | goal | figure | target | met |",
        "|---|---|---|---|---|",
    ]
    for g in data["goals"]:
        target = f"{g['op']} {_fmt(g['bound'])}{g['unit']}"
        figure = f"{_fmt(g['figure'])}{g['unit']}"
        if g.get("detail"):  # what the figure is made of (both sides of a ratio)
            figure += f" ({g['detail']})"
        lines.append(
            f"| {g['area']} | {g['name']} | {figure} | {target} | {'yes' if g['met'] else '**no**'} |"
        )
    lines += [
        "",
        f"Machine: {m.get('cores')} cores, {m.get('memory_gib')} GiB, load average "
        f"{m.get('load_average')} at the end; Python {m.get('python')}; PostgreSQL "
        f"{pg.get('version', '?')} ({', '.join(f'{k} {v}' for k, v in pg.items() if k != 'version')}).",
    ]
    for n in data.get("notes", []):
        lines.append(f"\n**Warning:** {n}")
    return "\n".join(lines)


def _results() -> list[dict[str, Any]]:
    out = []
    for p in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        data["_path"] = p.name
        out.append(data)
    return out


def latest_by_area() -> dict[str, Any] | None:
    """A merged view: for each area, its goals from the newest result that measured it."""
    merged: dict[str, dict[str, Any]] = {}
    for data in _results():  # oldest first: newer ones overwrite
        for area in {g["area"] for g in data["goals"]}:
            merged[area] = {**data, "goals": [g for g in data["goals"] if g["area"] == area]}
    if not merged:
        return None
    return merged


def readme() -> bool:
    """Rewrite the README between its bench markers from the newest result of each area."""
    merged = latest_by_area()
    if merged is None or not README.exists():
        return False
    text = README.read_text()
    if START not in text or END not in text:
        return False
    parts = []
    for area in sorted(merged):
        data = merged[area]
        parts.append(f"**{area}** ({data['_path']})\n\n" + markdown(data))
    body = (
        "Generated by `make bench` from bench/results/ (the newest result of each area); "
        "do not edit by hand.\n\n" + "\n\n".join(parts)
    )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{body}\n{END}{tail}")
    return True


def compare(a: Path, b: Path) -> str:
    """The change of every goal from result A to result B."""
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    key = lambda g: (g["area"], g["name"])  # noqa: E731
    before = {key(g): g for g in left["goals"]}
    after = {key(g): g for g in right["goals"]}
    lines = [
        f"A: {a.name} ({left['commit']}), B: {b.name} ({right['commit']})",
        f"{'area':10} {'goal':48} {'A':>12} {'B':>12} {'change':>9}  met A->B",
    ]
    for k in sorted(before.keys() | after.keys()):
        ga, gb = before.get(k), after.get(k)
        fa = ga["figure"] if ga else float("nan")
        fb = gb["figure"] if gb else float("nan")
        change = f"{(fb - fa) / fa * 100:+.1f}%" if ga and gb and fa else "n/a"
        met = f"{_met(ga)}->{_met(gb)}"
        lines.append(f"{k[0]:10} {k[1][:48]:48} {_fmt(fa):>12} {_fmt(fb):>12} {change:>9}  {met}")
    return "\n".join(lines)


def _met(g: dict[str, Any] | None) -> str:
    return "-" if g is None else ("yes" if g["met"] else "no")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Crosscheck benchmark reports")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="the change between two results")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    sub.add_parser("readme", help="regenerate the README's performance section")
    args = parser.parse_args(argv)
    if args.cmd == "compare":
        for p in (args.a, args.b):
            if not p.exists():
                print(f"no such result: {p}", file=sys.stderr)
                return 2
        print(compare(args.a, args.b))
        return 0
    if not readme():
        print("no results, or the README has no bench markers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
