#!/usr/bin/env python3
"""pip-audit over the installed environment, with a verdict that counts what was audited.

pip-audit exits 0 ("No known vulnerabilities found") even when it could check no package at all
(the index answered without vulnerability data, or could not be reached). This script says how
many packages were audited and exits:

- 0 when every package was audited and none has a known vulnerability;
- 1 when a package has a known vulnerability (listed);
- 0 with "NOT AUDITED" when pip-audit checked nothing, or only some packages: the scan did not
  run (or ran in part), which is not a pass, and the output says so.

Usage: .ci/audit.py [path to the environment's python] (default: .venv/bin/python)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    python = sys.argv[1] if len(sys.argv) > 1 else ".venv/bin/python"
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        done = subprocess.run(  # noqa: S603 - a fixed command line
            [python, "-m", "pip_audit", "--progress-spinner", "off", "--format", "json", "-o", str(report)],
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists() or not report.read_text().strip():
            message = (done.stderr or done.stdout).strip().splitlines()
            print(f"pip-audit: NOT AUDITED: it produced no report (exit {done.returncode}).")
            print("\n".join(message[-5:]))
            return 0
        dependencies = json.loads(report.read_text())["dependencies"]
    code, lines = verdict(dependencies)
    print("\n".join(lines))
    return code


def verdict(dependencies: list[dict]) -> tuple[int, list[str]]:
    """The exit code and the lines to print for pip-audit's JSON list of dependencies."""
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            lines.append(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    lines.append(
        f"pip-audit: {len(audited)} of {len(dependencies)} installed packages audited, {len(vulnerable)} vulnerable."
    )
    if vulnerable:
        return 1, lines
    if not audited:
        lines.append("pip-audit: NOT AUDITED: the package index gave no vulnerability data for any package.")
    elif skipped:
        names = ", ".join(d["name"] for d in skipped)
        lines.append(f"pip-audit: {len(skipped)} NOT AUDITED (no vulnerability data): {names}")
    return 0, lines


if __name__ == "__main__":
    sys.exit(main())
