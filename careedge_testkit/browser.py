"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright (never a
downloaded browser), with the flags it needs as root. Screenshots go where
``careedge_testkit.screenshots.screenshot_dir`` says (docs/screens/ only with ``make screens``)."""

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


def shoot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    page.screenshot(path=str(folder / name), full_page=full_page)
