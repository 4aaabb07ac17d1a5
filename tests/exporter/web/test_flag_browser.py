"""The loop of acting on your data in Debian's Chromium, against a portal whose cases come
from a file the test can change, as a case system's data changes: the citizen opens a
record from the summary in their package, flags a field with a PDF as evidence, sees it
in review; a caseworker decides; the citizen reads the answer, and the next package shows
the record (corrected where the source was corrected) with the flag resolved. Every page
on the way is checked with axe-core (WCAG 2.1 AA) at full width and at 320 px."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from exporter.api.auth import Role, issue_token
from exporter.profile import Profile, parse_profile
from tests.exporter.connectors.support import CASE_MAPPING
from tests.exporter.web.test_portal_browser import Journey, press_to, provider_login
from tests.portal import ANNA, Portal, running_portal

pytestmark = [pytest.mark.browser, pytest.mark.provider, pytest.mark.slow]

PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 100 + b"%%EOF\n"
COLUMNS = ["CPR", "sagsid", "sagsnr", "titel", "kle", "status", "oprettet", "enhed"]
CASE_OF = {"corrected": 1, "annotated": 2, "rejected": 3}


def write_cases(path: Path, titles: dict[int, str]) -> None:
    """The case system's export: Anna's three cases, titled as ``titles`` says."""
    lines = [";".join(COLUMNS)]
    for i in (1, 2, 3):
        title = titles.get(i, f"Sag nummer {i}")
        lines.append(";".join([f"{ANNA[:6]}-{ANNA[6:]}", f"S{i:06d}", str(i), title,
                               "32.06.08", "2", f"0{i}-03-2024", "U01"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def file_profile(folder: Path) -> Profile:
    """The demo profile with its case index replaced by the file connector on ``folder``."""
    demo = tomllib.loads(resources.files("exporter.profiles").joinpath("demo.toml")
                         .read_text("utf-8"))
    for source in demo["sources"]:
        if source["id"] == "sagsindeks":
            source["connector"] = "file"
            source["settings"] = {"folder": str(folder), "subject_column": "CPR",
                                  "pattern": "sager.csv", "delimiter": ";"}
            source["datasets"] = [{**d, "mapping": CASE_MAPPING}
                                  for d in source["datasets"] if d["id"] == "sager"]
    return parse_profile(demo, origin="test")


@pytest.fixture(scope="module")
def case_portal(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path,
                postgres_url: str) -> Iterator[tuple[Portal, Path]]:
    folder = tmp_path_factory.mktemp("sagsportal")
    export = folder / "udtraek"
    export.mkdir()
    write_cases(export / "sager.csv", {})
    with running_portal(folder, keys_dir, postgres_url, profile=file_profile(export)) as p:
        yield p, export / "sager.csv"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    yield context
    context.close()


def summary_texts(language: str) -> Any:
    data = resources.files("templates").joinpath("texts.json").read_text("utf-8")
    return json.loads(data)[language]


def open_new_summary(j: Journey) -> None:
    """Order a package of the cases and the citizen's own records, wait for it, and open
    the summary inside it."""
    page, t = j.page, j.t
    page.goto(f"{j.portal.url}/bestil")
    for box in page.locator("input[name=datasets]").all():
        box.uncheck()
    for dataset in ("sager", "indsigelser", "bidrag"):
        page.locator(f"input[name=datasets][value={dataset}]").check()
    j.button(t["form"]["continue"]).click()
    j.button(t["request"]["send"]).click()
    open_package = j.link(t["status"]["open_package"])
    expect(open_package).to_be_visible(timeout=60_000)
    open_package.click()
    j.link(t["package"]["read_summary"]).click()
    page.wait_for_url("**/pakke/index*.html")


def caseworker(portal: Portal, flag_id: str, step: str, **body: str) -> None:
    token = issue_token(portal.settings, "cw-7", Role.CASEWORKER)
    answer = httpx.post(f"{portal.url}/v1/caseworker/flags/{flag_id}/{step}", json=body or None,
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text


def log_in(j: Journey, language: str) -> None:
    page = j.page
    page.goto(f"{j.portal.url}/log-ind?lang={language}")
    provider_login(page, "anna")
    page.wait_for_url(f"{j.portal.url}/**")
    if "/handl-for" in page.url:
        page.get_by_label(j.t["act_for"]["myself"], exact=False).check()
        j.button(j.t["form"]["continue"]).click()
    page.wait_for_url(f"{j.portal.url}/mine-data")


def state_of(page: Page, title: str) -> str:
    """The flag column of the summary's row for the case titled ``title``."""
    row = page.locator("#ds-sager-cap").locator("xpath=..").locator("tr", has_text=title)
    expect(row).to_have_count(1)
    return row.locator("td").last.inner_text()


@pytest.mark.parametrize(("outcome", "language"),
                         [("corrected", "da"), ("annotated", "en"), ("rejected", "da")])
def test_flag_a_field_with_evidence_and_see_it_through(case_portal: tuple[Portal, Path],
                                                       context: BrowserContext, outcome: str,
                                                       language: str) -> None:
    portal, export = case_portal
    j = Journey(context, portal, language)
    page, t, s = j.page, j.t, summary_texts(language)
    title = f"Sag nummer {CASE_OF[outcome]}"
    log_in(j, language)

    # From the record in the package's summary to the portal's form.
    open_new_summary(j)
    cases = page.locator("#ds-sager-cap").locator("xpath=..")
    cases.locator("tr", has_text=title).get_by_role("link", name=s["flag_link"]).click()
    page.wait_for_url(f"{portal.url}/indsigelser/ny?**")
    expect(page.locator("h1")).to_have_text(t["flag"]["title"])
    expect(page.locator(".summary-list")).to_contain_text(title)
    j.audit("flag form")
    j.button(t["flag"]["send"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("flag form with errors")
    page.locator("input[name=field][value=title]").check()
    page.fill("#wrong", "Sagen handler om boligstøtte, ikke det, titlen siger."
              if language == "da" else "The case is about housing benefit.")
    page.fill("#right", "Boligstøtte 2024")
    page.set_input_files("#file", files=[{"name": "afgørelse.pdf",
                                          "mimeType": "application/pdf", "buffer": PDF}])
    j.button(t["flag"]["send"]).click()
    expect(page.locator("h1")).to_have_text(t["flag"]["received_title"])
    expect(page.get_by_text("afgørelse.pdf")).to_be_visible()
    j.audit("flag received")
    flag_id = page.url.split("?")[0].rsplit("/", 1)[1]

    # The caseworker takes it: the citizen sees it in review, the record disputed.
    caseworker(portal, flag_id, "take")
    page.goto(f"{portal.url}/indsigelser/{flag_id}")
    expect(page.get_by_text(t["flag_states"]["in_review"]).first).to_be_visible()
    expect(page.get_by_text(t["flag"]["disputed_text"])).to_be_visible()
    j.audit("flag in review")

    # The decision, with the source system changed where the record is corrected.
    answers = {"corrected": "Vi har rettet titlen i sagssystemet.",
               "annotated": "Titlen står, men din bemærkning er lagt på sagen.",
               "rejected": "Titlen er den, sagen blev oprettet med."}
    if outcome == "corrected":
        write_cases(export, {1: "Boligstøtte 2024"})
    caseworker(portal, flag_id, "decide", outcome=outcome, answer=answers[outcome])
    page.reload()
    expect(page.get_by_text(answers[outcome])).to_be_visible()
    expect(page.get_by_text(t["flag_states"][outcome]).first).to_be_visible()
    complaint = page.get_by_role("heading", name=t["flag"]["complaint_heading"])
    if outcome == "rejected":
        expect(complaint).to_be_visible()
        expect(page.get_by_text("Datatilsynet", exact=False).first).to_be_visible()
    else:
        expect(complaint).to_have_count(0)
    expect(page.locator("form[action$='/tilfoej']")).to_have_count(0)
    j.audit(f"flag {outcome}")
    page.goto(f"{portal.url}/indsigelser")
    expect(page.get_by_text(t["flag_states"][outcome]).first).to_be_visible()
    j.audit("my flags")

    # The next package: the record as the source has it now, and the flag resolved.
    open_new_summary(j)
    shown = "Boligstøtte 2024" if outcome == "corrected" else title
    if outcome == "corrected":
        expect(page.locator("#ds-sager-cap").locator("xpath=..").locator(
            "tr", has_text="Sag nummer 1")).to_have_count(0)
    state = state_of(page, shown)
    assert summary_texts("en")["disputed"] not in state and s["disputed"] not in state
    expected = {"da": {"corrected": "Rettet", "annotated": "Påtegnet", "rejected": "Afvist"},
                "en": {"corrected": "Corrected", "annotated": "Annotated",
                       "rejected": "Rejected"}}[language][outcome]
    assert expected in state, state
    expect(page.locator("body")).to_contain_text(answers[outcome])  # "Dine indsigelser"
    assert not j.foreign


def test_add_information_of_one_s_own_in_the_browser(case_portal: tuple[Portal, Path],
                                                     context: BrowserContext) -> None:
    portal, _ = case_portal
    j = Journey(context, portal, "da")
    page, t = j.page, j.t
    log_in(j, "da")
    j.link(t["nav"]["flags"]).click()
    expect(page.locator("h1")).to_have_text(t["flags"]["title"])
    j.audit("flags, contributions")
    j.link(t["flags"]["contribute"]).click()
    j.audit("contribution form")
    j.button(t["contribute"]["send"]).click()
    expect(page.locator(".error-summary")).to_be_visible()
    j.audit("contribution form with errors")
    page.get_by_label(t["contribution_kinds"]["document"]).check()
    page.fill("#title", "Lægeerklæring om min ryg")
    page.fill("#text", "Min læge skriver, at jeg ikke kan løfte.")
    page.set_input_files("#file", files=[{"name": "læge.pdf", "mimeType": "application/pdf",
                                          "buffer": PDF}])
    j.button(t["contribute"]["send"]).click()
    expect(page.get_by_text("Lægeerklæring om min ryg")).to_be_visible()
    j.audit("flags, contribution added")
    open_new_summary(j)
    expect(page.locator("body")).to_contain_text("Lægeerklæring om min ryg")


def test_a_flag_by_keyboard_alone(case_portal: tuple[Portal, Path],
                                  context: BrowserContext) -> None:
    portal, _ = case_portal
    j = Journey(context, portal, "da")
    page, t, s = j.page, j.t, summary_texts("da")
    log_in(j, "da")
    open_new_summary(j)
    cases = page.locator("#ds-sager-cap").locator("xpath=..")
    press_to(page, cases.locator("tr", has_text="Sag nummer 2").get_by_role(
        "link", name=s["flag_link"]))
    page.wait_for_url(f"{portal.url}/indsigelser/ny?**")
    # A radio group is one Tab stop; the arrow keys move within it.
    title = page.locator("input[name=field][value=title]")
    press_to(page, page.locator("input[name=field][value='']"), key="ArrowDown")
    for _ in range(20):
        if title.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(title).to_be_checked()
    press_to(page, page.locator("#wrong"), key="End")
    page.keyboard.type("Titlen er forkert.")
    press_to(page, page.get_by_role("button", name=t["flag"]["send"]))
    expect(page.locator("h1")).to_have_text(t["flag"]["received_title"])
    press_to(page, page.get_by_role("button", name=t["flag"]["withdraw"]))
    expect(page.get_by_text(t["flag_states"]["withdrawn"]).first).to_be_visible()
