"""checkov, offline, over infra/: no failed check, and every skip is justified inline and still needed.

checkov lives in its own venv (.venv-checkov, made by setup_checkov in scripts/lib/setup.sh, which
./scripts/test runs) because its pins conflict with ours.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from typing import Any

import pytest

from tests.infra.templates import INFRA, REPO_ROOT

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)(:?)(.*)$")


@cache
def checkov_report() -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: ./scripts/test installs it (setup_checkov)")
        pytest.skip(
            "checkov is not installed: run ./scripts/test, or `source scripts/lib/setup.sh; setup_checkov`"
        )
    completed = subprocess.run(
        [str(CHECKOV), "--framework", "bicep", "arm", "--skip-download", "-d", str(INFRA), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=REPO_ROOT,
        # Offline: no policy mapping download, no PyPI update check.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"},
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_reports_no_failed_check_and_no_parsing_error() -> None:
    reports = checkov_report()
    bicep = [r for r in reports if r["check_type"] == "bicep"]
    assert bicep, "checkov scanned no Bicep file"
    assert bicep[0]["summary"]["resource_count"] > 0
    for report in reports:
        failed = [
            f"{c['check_id']} {c['file_path']} {c['resource']}"
            for c in report["results"].get("failed_checks", [])
        ]
        assert not failed, f"{report['check_type']}: failed checks:\n" + "\n".join(failed)
        assert report["summary"]["parsing_errors"] == 0, report["summary"]


def _skip_comments() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(INFRA.rglob("*.bicep")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                found.append((str(path.relative_to(INFRA)), number, match.group(1), match.group(3).strip()))
    return found


def test_every_skip_is_justified_inline() -> None:
    for path, number, check, reason in _skip_comments():
        assert len(reason) >= 20, f"{path}:{number}: {check} needs a reason after the colon"


def test_every_skip_still_suppresses_a_check() -> None:
    reports = checkov_report()
    skipped = {
        (c["check_id"], c["file_path"].lstrip("/"))
        for report in reports
        for c in report["results"].get("skipped_checks", [])
    }
    stale = [
        f"{path}:{number} {check}"
        for path, number, check, _ in _skip_comments()
        if (check, path) not in skipped
    ]
    assert not stale, "skips that suppress nothing (remove them):\n" + "\n".join(stale)
