"""pip-audit over the pins of pyproject.toml (dependencies and the dev extra), for `make lint`.

pip-audit asks PyPI's vulnerability data over the network. A short probe first (one pin, a
5-second timeout): when the service cannot be reached, or answers for no release (a mirror
without PyPI's per-release JSON API), the audit is skipped with the reason printed and exit
status 0, so that CI on a closed network still passes its other checks. Once the probe answers,
any vulnerable pin, or any pin the service cannot audit, fails the check.

    .venv/bin/python .ci/pip_audit_check.py        (make lint runs it)
    PIP_AUDIT_REQUIRED=1 ...                       an unreachable service fails instead of skipping
    PIP_AUDIT_SERVICE=osv ...                      ask OSV instead of PyPI (pip-audit's -s)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?==[^\s;]+$")
PROBE_TIMEOUT = 5
AUDIT_TIMEOUT = 15


def pins() -> list[str]:
    """Every `name==version` of the project and its dev extra; anything unpinned is an error."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    loose = [s for s in specs if not PIN.match(s)]
    if loose:
        raise SystemExit(f"pip-audit: not pinned with ==: {', '.join(loose)}")
    return specs


def audit(specs: list[str], *, timeout: int) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report over these pins (no resolution: each pin as written), or None and why."""
    with tempfile.TemporaryDirectory() as tmp:
        requirements, out = Path(tmp) / "requirements.txt", Path(tmp) / "report.json"
        requirements.write_text("\n".join(specs) + "\n")
        command = [
            *(sys.executable, "-m", "pip_audit", "--requirement", str(requirements)),
            *("--no-deps", "--disable-pip", "--progress-spinner", "off"),
            *("--vulnerability-service", os.environ.get("PIP_AUDIT_SERVICE", "pypi")),
            *("--timeout", str(timeout), "--format", "json", "--output", str(out)),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout * 4 + 30, check=False
            )
        except subprocess.TimeoutExpired:
            return None, f"no answer in {timeout * 4 + 30} s"
        if not out.exists() or not out.read_text().strip():
            lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
            return None, (lines[-1] if lines else f"pip-audit exited {done.returncode}")[:300]
        return json.loads(out.read_text()), ""


def main() -> int:
    specs = pins()
    required = os.environ.get("PIP_AUDIT_REQUIRED") == "1"
    probe, why = audit(specs[:1], timeout=PROBE_TIMEOUT)
    if probe is not None and all(d.get("skip_reason") for d in probe["dependencies"]):
        probe, why = (
            None,
            f"the service does not know {specs[0]}: {probe['dependencies'][0]['skip_reason']}",
        )
    if probe is None:
        verdict = "FAILED (PIP_AUDIT_REQUIRED=1)" if required else "SKIPPED"
        print(
            f"pip-audit: {verdict}: the vulnerability service cannot be reached from here ({why})"
        )
        return 1 if required else 0
    report, why = audit(specs, timeout=AUDIT_TIMEOUT)
    if report is None:
        print(f"pip-audit: FAILED: the probe answered but the audit did not ({why})")
        return 1
    vulnerable = skipped = 0
    for dep in report["dependencies"]:
        if dep.get("skip_reason"):
            skipped += 1
            print(f"  {dep['name']}: not audited: {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            vulnerable += 1
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"  {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(
        f"pip-audit: {vulnerable} known vulnerabilities and {skipped} pins not audited, "
        f"over {len(report['dependencies'])} pins"
    )
    return 1 if vulnerable or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
