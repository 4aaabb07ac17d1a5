"""The console in Debian's Chromium against the local provider: a caseworker's day, the
data-protection officer's and the auditor's, with axe-core (WCAG 2.1 AA) on every page
at full width and at 320 px, in both languages, and the queue by keyboard alone."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update

from exporter.db.models import Request, SourceTask
from exporter.delivery.consents import ConsentSpec, NotAllowed, give_consent, revoke_consent
from exporter.delivery.deliveries import create_delivery
from exporter.service.audit import Actor, seal_all
from exporter.web.render import texts
from tests.exporter.web.test_console_pages import flag_on_unit, ready_request, running_request
from tests.exporter.web.test_pages import citizen
from tests.exporter.web.test_portal_browser import Journey, press_to, provider_login
from tests.portal import ANNA, BENT, Portal

pytestmark = [pytest.mark.browser, pytest.mark.provider, pytest.mark.slow]


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(accept_downloads=True)
    yield context
    context.close()


def console_login(j: Journey, account: str, language: str = "da") -> None:
    page = j.page
    page.goto(f"{j.portal.url}/konsol/log-ind?lang={language}")
    provider_login(page, account)
    page.wait_for_url(f"{j.portal.url}/konsol**")


def log_out(j: Journey) -> None:
    j.button(j.t["layout"]["log_out"]).click()
    j.page.get_by_role("button", name="Yes, sign me out").click()
    j.page.wait_for_url(f"{j.portal.url}/konsol/logget-ud?**")


def overdue_request_with_a_gap(portal: Portal) -> str:
    request_id = ready_request(portal, BENT, ("person", "sager"))
    with portal.context.sessions.begin() as session:
        session.execute(update(Request).where(Request.id == request_id).values(
            state="ready_with_gaps", deadline=date(2001, 1, 1)))
        session.execute(update(SourceTask).where(
            SourceTask.request_id == request_id, SourceTask.source_id == "sagsindeks")
            .values(state="failed", last_error="unreachable"))
    return request_id


def test_a_caseworker_s_day(portal: Portal, context: BrowserContext) -> None:
    overdue, running = overdue_request_with_a_gap(portal), running_request(portal)
    flag = flag_on_unit(portal, "U02", "Sagen handler ikke om mig")
    j = Journey(context, portal, "da")
    page, t = j.page, j.t
    c: Any = t["console"]
    console_login(j, "sagsbehandler")
    expect(page.locator("h1")).to_have_text(c["queue"]["title"])
    j.audit("queue")
    first = page.locator("tbody tr").first.get_by_role("link")
    assert overdue in str(first.get_attribute("href"))

    # The overdue request first: retry its failed source.
    first.click()
    expect(page.locator("h1")).to_have_text(c["request"]["title"])
    j.audit("request with a gap")
    with page.expect_navigation():
        page.get_by_role("button", name=c["request"]["retry"], exact=False).first.click()
    with portal.context.sessions() as session:
        assert session.get(Request, overdue).state != "ready_with_gaps"  # type: ignore[union-attr]

    # Extend another with a reason the citizen then sees.
    page.goto(f"{portal.url}/konsol/anmodninger/{running}")
    j.button(c["request"]["extend"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("request with errors")
    page.get_by_label(c["request"]["month1"]).check()
    reason = "Vi venter på svar fra en kilde, der er lukket for vedligehold."
    page.fill("#reason", reason)
    j.button(c["request"]["extend"]).click()
    expect(page.get_by_text(reason)).to_be_visible()
    with citizen(portal, "anna") as anna:
        assert reason in anna.get(f"{portal.url}/anmodninger/{running}").text

    # Register a request for a citizen who wrote a letter.
    j.link(c["nav"]["register"]).click()
    j.audit("register")
    j.button(c["register"]["send"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("register with errors")
    page.fill("#cpr", "720150-1235")
    page.get_by_label(c["register"]["channels"]["letter"]).check()
    page.fill("#note", "Brev modtaget 1. december fra borgeren selv.")
    j.button(c["register"]["send"]).click()
    expect(page.locator("h1")).to_have_text(c["request"]["created"])
    j.audit("registered")

    # Decide a flag, after seeing the answer as the citizen will.
    page.goto(f"{portal.url}/konsol/indsigelser/{flag.id}")
    j.audit("flag")
    j.button(c["flag"]["take"]).click()
    page.get_by_label(t["flag_states"]["annotated"]).check()
    answer = "Sagen står, men din bemærkning er lagt på den."
    page.fill("#answer", answer)
    j.button(c["flag"]["preview"]).click()
    expect(page.get_by_role("heading", name=c["flag"]["preview_heading"])).to_be_visible()
    j.audit("flag preview")
    j.button(c["flag"]["confirm"]).click()
    expect(page.get_by_text(answer).first).to_be_visible()
    with citizen(portal, "anna") as anna:
        assert answer in anna.get(f"{portal.url}/indsigelser/{flag.id}").text

    j.link(c["nav"]["contributions"]).click()
    j.audit("contributions")
    j.link(c["nav"]["quality"]).click()
    j.audit("data quality")
    j.link(c["nav"]["statistics"]).click()
    j.audit("statistics")
    page.goto(f"{portal.url}/konsol/tjenester")
    expect(page.locator("h1")).to_have_text(t["errors"]["role"]["title"])
    j.audit("refused")
    log_out(j)
    j.audit("logged out")
    assert j.foreign == [] and len(j.audited) >= 12


def test_the_dpo_and_the_auditor(portal: Portal, context: BrowserContext,
                                 tmp_path: Path) -> None:
    j = Journey(context, portal, "da")
    page, t = j.page, j.t
    c: Any = t["console"]
    console_login(j, "dpo")
    j.link(c["nav"]["services"]).click()
    j.audit("services")
    j.link(c["services"]["add"]).click()
    j.audit("service form")
    j.button(c["service_form"]["send"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("service form with errors")
    page.goto(f"{portal.url}/konsol/tjenester")
    request_id = ready_request(portal, ANNA, ("person",))
    consent = give_consent(portal.context, Actor(ANNA, "citizen"), ANNA,
                           ConsentSpec(service_id=portal.service_id, purpose="Mit arkiv"))
    try:
        page.get_by_role("button", name=f"{c['services']['suspend']} Mit Arkiv").click()
        expect(page.get_by_text(t["service_states"]["suspended"]).first).to_be_visible()
        with pytest.raises(NotAllowed):  # a push to it is refused now
            create_delivery(portal.context, Actor(ANNA, "citizen"), ANNA, request_id,
                            portal.service_id, consent_id=consent.id)
    finally:
        page.get_by_role("button", name=f"{c['services']['resume']} Mit Arkiv").click()
        expect(page.get_by_role("button", name=f"{c['services']['suspend']} Mit Arkiv")
               ).to_be_visible()
        revoke_consent(portal.context, Actor(ANNA, "citizen"), ANNA, consent.id)
    log_out(j)

    seal_all(portal.context.sessions.begin)
    a = Journey(context, portal, "da")
    console_login(a, "revisor")  # an auditor lands on the audit log
    expect(a.page.locator("h1")).to_have_text(c["audit"]["title"])
    a.audit("audit log")
    a.button(c["audit"]["verify"]).click()
    expect(a.page.get_by_role("heading", name=c["audit"]["check_ok"])).to_be_visible()
    a.audit("chain checked")
    today = date.today()
    a.page.fill("#export-fra", (today - timedelta(days=1)).isoformat())
    a.page.fill("#export-til", today.isoformat())
    with a.page.expect_download() as download:
        a.button(c["audit"]["export"]).click()
    saved = tmp_path / "revision.zip"
    download.value.save_as(saved)
    zipfile.ZipFile(saved).extractall(tmp_path)
    checked = subprocess.run(["minisign", "-Vm", "revision.jsonl", "-p", "minisign.pub"],
                             cwd=tmp_path, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    a.page.goto(f"{portal.url}/konsol/datakvalitet")  # an auditor has no caseworker's pages
    expect(a.page.locator("h1")).to_have_text(t["errors"]["role"]["title"])


def test_the_console_in_english(portal: Portal, context: BrowserContext) -> None:
    flag = flag_on_unit(portal, "U02", "Not my case", other=True)
    j = Journey(context, portal, "en")
    c: Any = texts("en")["console"]
    console_login(j, "dpo", "en")
    expect(j.page.locator("h1")).to_have_text(c["queue"]["title"])
    for path, name in (("/konsol", "queue"), (f"/konsol/indsigelser/{flag.id}", "flag"),
                       ("/konsol/anmodninger/ny", "register"),
                       ("/konsol/datakvalitet", "quality"), ("/konsol/statistik", "statistics"),
                       ("/konsol/tjenester", "services"), ("/konsol/tjenester/ny", "new service"),
                       ("/konsol/bidrag", "contributions"),
                       ("/konsol/revision", "audit log")):
        j.page.goto(portal.url + path)
        j.audit(name)
    request = httpx.get(f"{portal.url}/konsol/log-ind?lang=en", follow_redirects=False)
    assert request.status_code == 303


def test_the_queue_by_keyboard_alone(portal: Portal, context: BrowserContext) -> None:
    overdue = overdue_request_with_a_gap(portal)
    j = Journey(context, portal, "da")
    page: Page = j.page
    c: Any = j.t["console"]
    page.goto(f"{portal.url}/konsol/log-ind")
    page.wait_for_selector("input[name=login]")
    page.keyboard.type("sagsbehandler")
    page.keyboard.press("Tab")
    page.keyboard.type("et kodeord")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal.url}/konsol")
    press_to(page, page.locator(f"a[href='/konsol/anmodninger/{overdue}']"))
    page.wait_for_url(f"**/konsol/anmodninger/{overdue}")
    with page.expect_navigation():
        press_to(page, page.get_by_role("button", name=c["request"]["retry"],
                                        exact=False).first)
    with portal.context.sessions() as session:
        tasks = session.scalars(select(SourceTask.state).where(
            SourceTask.request_id == overdue, SourceTask.source_id == "sagsindeks")).all()
    assert tasks != ["failed"]
