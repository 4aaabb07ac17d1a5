"""The portal in Debian's Chromium against the real local OpenID Provider: a citizen's
whole journey in each language with axe-core (WCAG 2.1 AA) on every page, at full width
and at 320 px; the request journey by keyboard alone; the idle warning."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from exporter.keys import Keyring
from exporter.web.render import texts
from formats.verify import verify_package
from tests.browser import axe_violations
from tests.portal import Portal

pytestmark = [pytest.mark.browser, pytest.mark.provider, pytest.mark.slow]


class Journey:
    """One browser tab, checking every page it shows, and everything the portal's
    pages ask for or set."""

    def __init__(self, context: BrowserContext, portal: Portal, language: str) -> None:
        self.portal, self.language = portal, language
        self.t: Any = texts(language)
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)
        self.audited: list[str] = []
        self.foreign: list[str] = []
        self.cookies: set[str] = set()
        self.page.on("request", self._request)
        self.page.on("response", self._response)

    def _request(self, request: Any) -> None:
        document = request.frame.url if request.frame else ""
        if document.startswith(self.portal.url) and not request.url.startswith(
                (self.portal.url, "data:")) and request.is_navigation_request() is False:
            self.foreign.append(request.url)

    def _response(self, response: Any) -> None:
        if response.url.startswith(self.portal.url):
            header = response.headers.get("set-cookie")
            if header:
                self.cookies.update(line.split("=", 1)[0] for line in header.split("\n"))

    def audit(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.lang") == self.language, name
        for width in (1280, 320):
            page.set_viewport_size({"width": width, "height": 900})
            assert axe_violations(page) == [], f"{name} at {width} px ({self.language})"
            if width == 320:  # WCAG 1.4.10: no sideways scrolling at 320 px
                assert page.evaluate("document.documentElement.scrollWidth") <= 320, name
        page.set_viewport_size({"width": 1280, "height": 900})
        self.audited.append(name)

    def link(self, name: str) -> Locator:
        return self.page.get_by_role("link", name=name, exact=True).first

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True).first


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(accept_downloads=True)
    yield context
    context.close()


def provider_login(page: Page, account: str) -> None:
    page.fill("input[name=login]", account)
    page.fill("input[name=password]", "et kodeord")
    page.click("button[type=submit]")


def wait_for_text(page: Page, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.content():
        assert time.monotonic() < deadline, f"{text!r} never appeared"
        time.sleep(0.5)
        page.reload()


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_whole_journey_in_each_language(portal: Portal, context: BrowserContext,
                                            keyring: Keyring, tmp_path: Path,
                                            language: str) -> None:
    j = Journey(context, portal, language)
    page, t = j.page, j.t
    page.goto(f"{portal.url}/?lang={language}")
    j.audit("start")
    j.link(t["layout"]["help"]).click()
    j.audit("help")
    j.link(t["layout"]["accessibility"]).click()
    j.audit("accessibility")
    page.goto(f"{portal.url}/findes-ikke?lang={language}")
    j.audit("not found")
    page.goto(f"{portal.url}/?lang={language}")
    j.link(t["start"]["log_in"]).click()

    provider_login(page, "anna")
    page.wait_for_url(f"{portal.url}/**")
    if "/handl-for" in page.url:
        j.audit("act for")
        page.get_by_label(t["act_for"]["myself"], exact=False).check()
        j.button(t["form"]["continue"]).click()
    expect(page.locator("h1")).to_have_text(t["overview"]["title"])
    j.audit("overview")

    # Request: the form, its errors, the check, the receipt, live progress.
    j.link(t["nav"]["request"]).click()
    j.audit("request form")
    for box in page.locator("input[name=datasets]").all():
        box.uncheck()
    page.fill("#fra", "2020-01-01")
    j.button(t["form"]["continue"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("request form with errors")
    page.locator("input[name=datasets][value=person]").check()
    page.locator("input[name=datasets][value=sager]").check()
    page.locator("input[name=datasets][value=kontaktenheder]").check()
    j.button(t["form"]["continue"]).click()
    j.audit("check request")
    j.button(t["request"]["send"]).click()
    expect(page.locator("h1")).to_have_text(t["status"]["receipt_title"])
    j.audit("receipt")
    # The page's script swaps the progress in; no reload.
    open_package = j.link(t["status"]["open_package"])
    expect(open_package).to_be_visible(timeout=60_000)
    j.audit("status, ready")
    open_package.click()
    j.audit("package")

    # Read the summary from the stored package, then the ZIP, then the age file.
    j.link(t["package"]["read_summary"]).click()
    page.wait_for_url(f"**/pakke/{'index.html' if language == 'da' else 'index.en.html'}")
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == language
    page.go_back()
    with page.expect_download() as download:
        j.link(t["package"]["zip_button"]).click()
    saved = tmp_path / "kopi.zip"
    download.value.save_as(saved)
    assert verify_package(saved, keyring.public_key).ok
    assert "data/sager.csv" in zipfile.ZipFile(saved).namelist()
    page.fill("#passphrase", "kort")
    page.fill("#passphrase2", "kort")
    j.button(t["package"]["age_button"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("package with an error")
    j.link(t["nav"]["requests"]).click()
    j.audit("history")

    # Share under consent, see it delivered, revoke.
    j.link(t["nav"]["share"]).click()
    j.audit("share")
    page.get_by_role("link", name=t["share"]["give"]).first.click()
    j.audit("consent form")
    j.button(t["form"]["continue"]).click()
    j.audit("consent form with errors")
    page.fill("#purpose", "Et arkiv til mig" if language == "da" else "An archive for me")
    page.get_by_label(t["consent"]["months3"]).check()
    j.button(t["form"]["continue"]).click()
    j.audit("check consent")
    j.button(t["consent"]["give"]).click()
    expect(page.locator("h1")).to_have_text(t["consent"]["confirmation_title"])
    j.audit("consent confirmation")
    with page.expect_download() as receipt:
        j.link(t["consent"]["receipt_file"]).click()
    assert b"dpv" in Path(receipt.value.path()).read_bytes()
    consent_url = page.url.split("?")[0]
    page.get_by_role("button", name=t["share"]["send_package"]).first.click()
    wait_for_text(page, t["delivery_states"]["delivered"])
    j.audit("share, delivered")
    page.goto(consent_url)
    j.audit("consent")
    j.button(t["consent"]["revoke"]).click()
    expect(page.get_by_text(t["consent_states"]["revoked"]).first).to_be_visible()

    # Power of attorney: give one (after a wrong try), see it, revoke it.
    j.link(t["nav"]["mandates"]).click()
    j.audit("mandates")
    j.link(t["mandates"]["give"]).click()
    j.audit("mandate form")
    page.fill("#cpr", "123")
    j.button(t["form"]["continue"]).click()
    j.audit("mandate form with errors")
    page.fill("#cpr", "850382-1237")
    page.fill("#name", "Carl")
    until = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    page.fill("#until", until)
    j.button(t["form"]["continue"]).click()
    j.audit("check mandate")
    j.button(t["mandate_form"]["give"]).click()
    j.audit("mandates, given")
    j.button(t["mandates"]["revoke"]).click()

    # The warning before the idle timeout (the page's clock run forward), staying logged
    # in, and what shows when the time is up.
    page.clock.install()
    page.goto(f"{portal.url}/mine-data")
    dialog = page.locator("#timeout-dialog")
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("13:10")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.textContent") == t["timeout"]["stay"]
    j.audit("idle warning")
    j.button(t["timeout"]["stay"]).click()
    expect(dialog).to_be_hidden()
    page.clock.fast_forward("13:10")
    expect(dialog).to_be_visible()
    page.clock.fast_forward("02:10")
    expect(page.get_by_role("link", name=t["timeout"]["log_in_again"])).to_be_focused()
    page.goto(f"{portal.url}/anmodninger")

    # Log out, here and at the provider.
    j.button(t["layout"]["log_out"]).click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{portal.url}/logget-ud?**")
    j.audit("logged out")

    # A login at assurance level Low gets a clear page.
    page.goto(f"{portal.url}/log-ind?lang={language}")
    provider_login(page, "lise")
    page.wait_for_url(f"{portal.url}/**")
    expect(page.locator("h1")).to_have_text(t["refused"]["low_assurance"]["title"])
    j.audit("login refused")

    assert j.foreign == [], "pages asked for something outside the service"
    assert j.cookies <= {"egnedata"}, j.cookies
    assert len(j.audited) >= 25


def press_to(page: Page, target: Locator, key: str = "Enter", limit: int = 80) -> None:
    """Tab until ``target`` has the focus (and shows it), then press ``key``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            outline = page.evaluate(
                "getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", "the focus is not visible"
            page.keyboard.press(key)
            return
    raise AssertionError(f"{target} cannot be reached with Tab")


def test_the_request_journey_by_keyboard_alone(portal: Portal, context: BrowserContext,
                                               keyring: Keyring, tmp_path: Path) -> None:
    t: Any = texts("da")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{portal.url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == t["layout"]["skip"]
    press_to(page, page.get_by_role("link", name=t["start"]["log_in"]))
    page.wait_for_selector("input[name=login]")
    page.keyboard.type("bent")  # the login field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type("et kodeord")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal.url}/**")
    if "/handl-for" in page.url:
        press_to(page, page.locator("input[value=me]"), key="Space")
        press_to(page, page.get_by_role("button", name=t["form"]["continue"]))
    page.wait_for_url(f"{portal.url}/mine-data")
    press_to(page, page.get_by_role("link", name=t["nav"]["request"], exact=True))
    page.wait_for_url(f"{portal.url}/bestil")
    press_to(page, page.get_by_role("button", name=t["form"]["continue"]))
    page.wait_for_url(f"{portal.url}/bestil/tjek")
    press_to(page, page.get_by_role("button", name=t["request"]["send"]))
    page.wait_for_url(f"{portal.url}/anmodninger/**")
    link = page.get_by_role("link", name=t["status"]["open_package"])
    expect(link).to_be_visible(timeout=60_000)
    press_to(page, link)
    page.wait_for_url(f"{portal.url}/anmodninger/*/pakke")
    with page.expect_download() as download:
        press_to(page, page.get_by_role("link", name=t["package"]["zip_button"]))
    saved = tmp_path / "kopi.zip"
    download.value.save_as(saved)
    assert verify_package(saved, keyring.public_key).ok
    press_to(page, page.get_by_role("button", name=t["layout"]["log_out"]))
    page.wait_for_url(f"{portal.provider.issuer}/**")
    # The provider's "Yes, sign me out" takes the focus when its page has loaded.
    expect(page.get_by_role("button", name="Yes, sign me out")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal.url}/logget-ud?**")
