"""Fixtures every end-to-end folder may use: Debian's Chromium driven by Playwright (one
browser per test session — Playwright's sync API starts once per process) and numbered
screenshots of every page a browser test visits, kept under ``artifacts/screenshots/``
(git-ignored).  Without Chromium the browser tests skip, saying what to install.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium not found: install Debian's chromium "
            "(sudo apt-get install chromium fonts-ipafont-gothic)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Screenshots:
    """Numbered screenshots of one test: ``<test>-<nn>-<step>.png``."""

    def __init__(self, test_name: str) -> None:
        self.stem = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, page: Any, step: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.stem}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)
