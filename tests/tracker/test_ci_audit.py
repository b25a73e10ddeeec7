"""The dependency scan's verdict (.ci/audit.py): a scan that audited nothing never reads as a pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"
spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
if spec is None or spec.loader is None:
    raise ImportError(f"cannot load {SCRIPT}")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def test_nothing_audited_says_so():
    """Every package skipped (the index had no vulnerability data): exit 0, but NOT AUDITED, 0 of 2."""
    code, lines = audit.verdict([{"name": "a", "skip_reason": "not found"}, {"name": "b", "skip_reason": "x"}])
    assert code == 0
    assert lines == [
        "pip-audit: 0 of 2 installed packages audited, 0 vulnerable.",
        "pip-audit: NOT AUDITED: the package index gave no vulnerability data for any package.",
    ]


def test_a_vulnerable_package_fails_the_scan_and_is_named():
    """A package with a known vulnerability fails the scan (exit 1), named with its version, the
    advisory and the fixed version, and the summary counts it."""
    code, lines = audit.verdict(
        [
            {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
            {"name": "b", "version": "1", "vulns": []},
        ]
    )
    assert code == 1
    assert lines[0] == "django 5.2.0: PYSEC-1 (fixed in 5.2.1)"
    assert lines[-1] == "pip-audit: 2 of 2 installed packages audited, 1 vulnerable."


def test_a_partial_audit_names_what_was_not_audited():
    """Packages the index had no data for are named as not audited, so a pass on the rest does not read
    as a pass on everything."""
    code, lines = audit.verdict([{"name": "a", "version": "1", "vulns": []}, {"name": "b", "skip_reason": "x"}])
    assert code == 0
    assert lines[-1] == "pip-audit: 1 NOT AUDITED (no vulnerability data): b"
