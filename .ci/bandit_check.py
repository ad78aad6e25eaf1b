"""bandit over the product code: fails on any medium or high finding, or on a `# nosec` without reason.

A false positive is silenced on its own line with `# nosec BXXX # why it is safe`: the test ids
and a reason after them, both required here (bandit itself accepts a bare `# nosec`). The reason
follows a second `#` because bandit reads every word after `nosec` as a test name.

    .venv/bin/python .ci/bandit_check.py [paths...]     (make lint runs it)
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

PRODUCT = [
    "config",
    "core",
    "audit",
    "privacy",
    "verification",
    "crossref",
    "cases",
    "synthetic",
    "bench",
]
NOSEC = re.compile(r"#\s*nosec\b:?(?P<rest>.*)$", re.IGNORECASE)
JUSTIFIED = re.compile(r"^\s*(?P<ids>B\d{3}(?:[ ,]+B\d{3})*)\s*#\s*(?P<reason>\S.{7,})$")


def unjustified_nosecs(paths: list[str]) -> list[str]:
    """`file:line` of every `# nosec` comment that names no test id or gives no reason."""
    bad = []
    for root in paths:
        for path in sorted(Path(root).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type != tokenize.COMMENT:
                    continue
                found = NOSEC.search(token.string)
                if found and not JUSTIFIED.match(found.group("rest")):
                    bad.append(f"{path}:{token.start[0]}: {token.string.strip()}")
    return bad


def main(argv: list[str]) -> int:
    paths = argv or PRODUCT
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bandit",
            "-r",
            *paths,
            "--severity-level",
            "medium",
            "-f",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        print("bandit: did not produce a report", file=sys.stderr)
        return 2
    findings = report["results"]
    for f in findings:
        print(
            f"{f['filename']}:{f['line_number']}: {f['test_id']} {f['issue_severity']}/"
            f"{f['issue_confidence']} {f['issue_text']}"
        )
    errors = report.get("errors", [])
    for e in errors:
        print(f"{e['filename']}: bandit could not scan it: {e['reason']}")
    bad = unjustified_nosecs(paths)
    for line in bad:
        print(f"{line}  <- a nosec needs its test ids and a reason: '# nosec B608 # why'")
    totals = report["metrics"]["_totals"]
    print(
        f"bandit: {len(findings)} medium or high findings, {len(errors)} files unscanned, "
        f"{len(bad)} unjustified nosec, over {totals['loc']:,} lines of {' '.join(paths)} "
        f"({totals['skipped_tests']} findings silenced by a justified nosec, "
        f"{totals['SEVERITY.LOW']:.0f} low not counted)"
    )
    return 1 if findings or errors or bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
