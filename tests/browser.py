"""Debian's Chromium driven by Playwright, and axe-core's WCAG 2.1 AA check, for the
tests of pages (Playwright cannot download a browser here, and need not)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE = Axe()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def axe_violations(page: Page) -> list[dict[str, object]]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it is now."""
    results = _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    violations: list[dict[str, object]] = results.response["violations"]
    if violations:
        print(results.generate_report())
    return violations
