"""The package's pages in real headless Chromium: WCAG 2.1 AA with axe-core, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from tests.browser import WCAG_AA
from tests.conftest import Builder, case_record, static_profile

pytestmark = pytest.mark.browser


def _open(browser: Browser, path: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, requests


@pytest.mark.parametrize("name", ["index.html", "index.en.html", "about.html", "about.en.html"])
def test_pages_pass_axe_and_stay_offline(
    browser: Browser, build: Builder, tmp_path: Path, name: str
) -> None:
    root = build().extract(tmp_path / "pkg")
    page, requests = _open(browser, root / name)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    violations = results.response["violations"]
    assert violations == [], results.generate_report()
    # Nothing but the page itself was requested (axe is injected, not fetched).
    assert [u for u in requests if not u.startswith("file://")] == []
    assert page.evaluate("document.documentElement.lang") == ("da" if ".en." not in name else "en")
    page.close()


def test_pages_with_gaps_and_hostile_data_pass_axe(
    browser: Browser, build: Builder, tmp_path: Path
) -> None:
    case = case_record(title="<b>x</b>\u202e")
    root = build(static_profile({"Case": [case, {"id": "bad"}]})).extract(tmp_path / "pkg")
    page, _ = _open(browser, root / "index.html")
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert results.response["violations"] == [], results.generate_report()
    assert page.locator("b").count() == 0
    page.close()


def test_language_links_and_skip_link_work(
    browser: Browser, build: Builder, tmp_path: Path
) -> None:
    root = build().extract(tmp_path / "pkg")
    page, _ = _open(browser, root / "index.html")
    page.get_by_role("link", name="English version").click()
    assert page.url.endswith("index.en.html")
    assert page.locator("h1").inner_text().startswith("Your data from")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.close()
