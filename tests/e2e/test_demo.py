"""The README's first command, shortened: everything on one machine with no server installed."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_stores_every_acknowledged_reading_and_reports_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "careedge", "demo", "--seconds", "8", "--kiosks", "2"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["readings_sent"] > 0
    assert summary["readings_stored"] == summary["readings_sent"]
    assert summary["alerts_published"] == summary["alerts"]
    assert "kiosk-1" in result.stdout
    assert "kiosk-2" in result.stdout
