"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright (never a
downloaded browser), with the flags it needs as root, and screenshots kept in docs/screens/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path(__file__).resolve().parents[1] / "docs" / "screens"
VIEWPORT = {"width": 1280, "height": 800}
"""A common landscape touchscreen."""


@contextmanager
def chromium(profile_dir: Path, locale: str = "zh-CN") -> Iterator[BrowserContext]:
    """A fresh browser profile in ``profile_dir``, closed on exit."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            has_touch=True,
            locale=locale,
        )
        try:
            yield context
        finally:
            context.close()


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / name), full_page=full_page)
