"""Where page tests put their screenshots: the documentation's folder only when asked.

A test run must not rewrite tracked files, so by default screenshots land in the test's own
directory; ``make screens`` sets ``CAREEDGE_SCREENSHOTS=docs/screens`` to refresh the documented ones.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CAREEDGE_SCREENSHOTS"


def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get(ENV)
    folder = Path(chosen) if chosen else tmp_path / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
