"""The citizen's pages over HTTP against the running portal: the overview, a request
from form to package, downloads, sharing under consent, power of attorney both ways,
and bad input, which always gets a page and never a 500."""

from __future__ import annotations

import contextlib
import io
import re
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from exporter.db.models import Delivery, Mandate
from exporter.keys import Keyring
from formats import age
from formats.minisign import verify as minisign_verify
from formats.verify import verify_package
from tests.portal import ANNA, BENT, Portal, browser_client, csrf_of, log_in, send_request

pytestmark = pytest.mark.provider


@contextlib.contextmanager
def citizen(portal: Portal, account: str) -> Iterator[httpx.Client]:
    with browser_client() as client:
        log_in(client, portal, account)
        yield client


@pytest.fixture
def anna(portal: Portal) -> Iterator[httpx.Client]:
    with citizen(portal, "anna") as client:
        yield client


def request_package(portal: Portal, http: httpx.Client, datasets: list[str] | None = None,
                    **period: str) -> str:
    """Ask through the pages (form, check, send); the request's id once it is ready."""
    request_id = send_request(http, portal, datasets or ["person", "sager", "kontaktenheder"],
                              **period)
    deadline = time.monotonic() + 60
    while 'data-active="true"' in (progress := http.get(
            f"{portal.url}/anmodninger/{request_id}/fremdrift").text):
        assert time.monotonic() < deadline, progress
        time.sleep(0.1)
    return request_id


def test_the_overview_shows_what_the_municipality_holds(portal: Portal,
                                                        anna: httpx.Client) -> None:
    page = anna.get(f"{portal.url}/mine-data")
    assert page.status_code == 200
    assert "Dine sager" in page.text and "Hvem kan jeg kontakte?" in page.text
    made = re.search(r"Oversigten er lavet ([^<]+)\.", page.text).group(1)  # type: ignore[union-attr]
    assert anna.get(f"{portal.url}/mine-data").text.count(made) == 1  # from the cache
    api = anna.get(f"{portal.url}/v1/overview").json()
    counts = {d["id"]: d["records"] for d in api["datasets"]}
    assert counts["person"] == 1 and counts["sager"] > 0
    row = re.search(r"Dine sager<br>.*?<td class=\"num\">(\d+)</td>", page.text.replace("\n", " "))
    assert row is not None and int(row.group(1)) == counts["sager"]
    assert api["contacts"] and all(c["case_number"] for c in api["contacts"])
    assert ANNA not in page.text


def test_a_request_from_form_to_package(portal: Portal, anna: httpx.Client, keyring: Keyring,
                                        tmp_path: Path) -> None:
    form = anna.get(f"{portal.url}/bestil")
    csrf = csrf_of(form.text)
    fields = {"csrf": csrf, "datasets": ["person", "sager"], "fra": "2020-01-01"}
    check = anna.post(f"{portal.url}/bestil/tjek", data=fields)
    assert "Tjek din bestilling" in check.text and "1. januar 2020 – til i dag" in check.text
    change = re.search(r'href="(/bestil\?[^"]+)"', check.text).group(1)  # type: ignore[union-attr]
    again = anna.get(portal.url + change.replace("&amp;", "&"))
    assert 'value="2020-01-01"' in again.text and 'value="dokumenter" ' in again.text
    key = re.search(r'name="key" value="([^"]+)"', check.text).group(1)  # type: ignore[union-attr]
    first = anna.post(f"{portal.url}/bestil", data={**fields, "key": key})
    second = anna.post(f"{portal.url}/bestil", data={**fields, "key": key})  # a double click
    assert first.headers["location"] == second.headers["location"]
    receipt = anna.get(portal.url + first.headers["location"])
    assert "Vi har fået din bestilling" in receipt.text and "Du får svar senest" in receipt.text
    request_id = first.headers["location"].split("/")[2].split("?")[0]
    deadline = time.monotonic() + 60
    while "Læs og hent din kopi" not in anna.get(
            f"{portal.url}/anmodninger/{request_id}/fremdrift").text:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    package = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke")
    assert package.status_code == 200 and "Hent ZIP-fil" in package.text
    summary = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/index.html")
    policy = summary.headers["content-security-policy"]
    assert summary.status_code == 200 and "sandbox" in policy and "'sha256-" in policy
    assert "script-src" not in policy and "<html" in summary.text
    english = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/index.en.html")
    assert 'lang="en"' in english.text
    csv = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/data/sager.csv")
    assert csv.headers["content-disposition"].startswith("attachment")
    assert anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/nope.txt").status_code == 404
    assert anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/../../etc/passwd"
                    ).status_code == 404

    data = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke.zip").content
    path = tmp_path / "p.zip"
    path.write_bytes(data)
    report = verify_package(path, keyring.public_key)
    assert report.ok and report.proves_provenance
    assert "data/dokumenter.csv" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    part = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke.zip",
                    headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]

    page = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke")
    short = anna.post(f"{portal.url}/anmodninger/{request_id}/pakke.zip.age",
                      data={"csrf": csrf_of(page.text), "passphrase": "kort",
                            "passphrase2": "kort"})
    assert short.status_code == 400 and "Kodeordet er for kort" in short.text
    other = anna.post(f"{portal.url}/anmodninger/{request_id}/pakke.zip.age",
                      data={"csrf": csrf_of(page.text), "passphrase": "korrekt hest batteri",
                            "passphrase2": "korrekt hest batteri!"})
    assert other.status_code == 400 and "ikke ens" in other.text
    wrapped = anna.post(f"{portal.url}/anmodninger/{request_id}/pakke.zip.age",
                        data={"csrf": csrf_of(page.text), "passphrase": " korrekt hest batteri",
                              "passphrase2": " korrekt hest batteri"})
    assert wrapped.status_code == 200
    out = io.BytesIO()
    age.decrypt(io.BytesIO(wrapped.content), out, [age.ScryptIdentity(" korrekt hest batteri")])
    assert out.getvalue() == data

    history = anna.get(f"{portal.url}/anmodninger")
    assert f"/anmodninger/{request_id}/pakke" in history.text and "slettes" in history.text


def test_request_form_errors_are_shown_on_the_form(portal: Portal, anna: httpx.Client) -> None:
    csrf = csrf_of(anna.get(f"{portal.url}/bestil").text)
    cases = [
        ({}, "Vælg mindst én slags data", "#datasets"),
        ({"datasets": ["nope"]}, "Vælg mindst én slags data", "#datasets"),
        ({"datasets": ["sager"], "fra": "2020-13-45"}, "fra-datoen som en rigtig dato", "#fra"),
        ({"datasets": ["sager"], "fra": "99999-01-01"}, "fra-datoen", "#fra"),
        ({"datasets": ["sager"], "fra": "2024-01-01", "til": "2020-01-01"}, "efter fra-datoen",
         "#til"),
        ({"datasets": ["sager"], "til": "<script>alert(1)</script>"}, "til-datoen", "#til"),
    ]
    for fields, message, anchor in cases:
        page = anna.post(f"{portal.url}/bestil/tjek", data={"csrf": csrf, **fields})
        assert page.status_code == 400, fields
        assert message in page.text and f'href="{anchor}"' in page.text
        assert 'class="error-message"' in page.text and "<script>alert" not in page.text
    missing_key = anna.post(f"{portal.url}/bestil", data={"csrf": csrf, "datasets": ["sager"]})
    assert missing_key.status_code == 400


def test_a_request_can_be_cancelled_and_not_twice(portal: Portal, anna: httpx.Client) -> None:
    request_id = request_package(portal, anna, ["person"])
    page = anna.get(f"{portal.url}/anmodninger/{request_id}")
    refused = anna.post(f"{portal.url}/anmodninger/{request_id}/annuller",
                        data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 409 and "Det kan ikke lade sig gøre" in refused.text


def test_sharing_under_consent_from_consent_to_revocation(portal: Portal, anna: httpx.Client,
                                                          keyring: Keyring) -> None:
    request_id = request_package(portal, anna)
    services = anna.get(f"{portal.url}/del")
    assert "Mit Arkiv" in services.text and "Privatlivspolitik" in services.text
    form = anna.get(f"{portal.url}/del/{portal.service_id}")
    csrf = csrf_of(form.text)
    bad = anna.post(f"{portal.url}/del/{portal.service_id}/tjek",
                    data={"csrf": csrf, "purpose": "x", "duration": "forever"})
    assert bad.status_code == 400 and "Vælg mindst én slags data" in bad.text
    assert "Vælg hvor længe" in bad.text and "Skriv, hvad tjenesten" in bad.text
    fields = {"csrf": csrf, "datasets": ["person", "sager", "kontaktenheder"],
              "purpose": 'Mit arkiv <b>"@context"</b>', "duration": "once"}
    check = anna.post(f"{portal.url}/del/{portal.service_id}/tjek", data=fields)
    assert check.status_code == 200 and "Tjek dit samtykke" in check.text
    assert "<b>" not in check.text and "&lt;b&gt;" in check.text
    given = anna.post(f"{portal.url}/del/{portal.service_id}", data=fields)
    assert given.status_code == 303
    consent_url = portal.url + given.headers["location"].split("?")[0]
    confirmation = anna.get(portal.url + given.headers["location"])
    assert "Dit samtykke er givet" in confirmation.text
    receipt = anna.get(consent_url + "/kvittering.jsonld").content
    signature = anna.get(consent_url + "/kvittering.jsonld.minisig").text
    minisign_verify(receipt, signature, keyring.public_key)

    sent = anna.post(f"{portal.url}/anmodninger/{request_id}/send",
                     data={"csrf": csrf_of(confirmation.text), "service": portal.service_id})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/del?sendt=")
    delivery_id = sent.headers["location"].split("=")[1].split("#")[0]
    deadline = time.monotonic() + 60
    while True:
        with portal.context.sessions() as session:
            state = session.scalars(select(Delivery.state)
                                    .where(Delivery.id == delivery_id)).one()
        if state == "delivered":
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    shared = anna.get(f"{portal.url}/del")
    assert "Modtaget" in shared.text
    assert any(portal.received.glob("*.zip.age"))

    revoked = anna.post(consent_url + "/tilbagekald", data={"csrf": csrf_of(shared.text)})
    assert revoked.status_code == 303
    assert "Trukket tilbage" in anna.get(consent_url).text
    again = request_package(portal, anna)
    refused = anna.post(f"{portal.url}/anmodninger/{again}/send",
                        data={"csrf": csrf_of(shared.text), "service": portal.service_id})
    assert refused.status_code == 403 and "adgang" in refused.text


def test_power_of_attorney_both_ways(portal: Portal) -> None:
    with citizen(portal, "bent") as bent:
        form = bent.get(f"{portal.url}/fuldmagter/ny")
        csrf = csrf_of(form.text)
        until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        errors = bent.post(f"{portal.url}/fuldmagter/tjek", data={
            "csrf": csrf, "cpr": BENT, "name": "", "until": "2020-01-01"})
        assert errors.status_code == 400
        for message in ("ikke give dig selv", "personens navn", "hvad personen må",
                        "efter i dag"):
            assert message in errors.text
        assert BENT not in errors.text  # what was typed is not shown back
        fields = {"csrf": csrf, "cpr": "710190-1234", "name": "Anna <i>Datter</i>",
                  "rights": ["request"], "scope": "all", "until": until}
        check = bent.post(f"{portal.url}/fuldmagter/tjek", data=fields)
        assert check.status_code == 200 and "710190-xxxx" in check.text
        assert "<i>" not in check.text
        made = bent.post(f"{portal.url}/fuldmagter", data={**fields, "cpr": "7101901234"})
        assert made.headers["location"] == "/fuldmagter?ny=1"
        assert "Anna &lt;i&gt;Datter&lt;/i&gt;" in bent.get(f"{portal.url}/fuldmagter").text

    with citizen(portal, "anna") as anna:
        choose = anna.get(f"{portal.url}/handl-for")
        with portal.context.sessions() as session:
            mandate = session.scalars(select(Mandate).where(
                Mandate.subject_cpr == BENT, Mandate.representative == ANNA,
                Mandate.revoked_at.is_(None))).first()
        assert mandate is not None and mandate.subject_name == "Bent Testesen"
        assert "Bent Testesen" in choose.text
        anna.post(f"{portal.url}/handl-for", data={"csrf": csrf_of(choose.text),
                                                   "who": mandate.id})
        overview = anna.get(f"{portal.url}/mine-data")
        assert "på vegne af" in overview.text and "Bent Testesen" in overview.text
        assert anna.get(f"{portal.url}/fuldmagter").status_code == 403  # not for Bent
        request_id = request_package(portal, anna, ["person"])
        assert anna.get(f"{portal.url}/anmodninger/{request_id}/pakke.zip").status_code == 200

    with citizen(portal, "bent") as bent:
        history = bent.get(f"{portal.url}/anmodninger")
        assert f"/anmodninger/{request_id}" in history.text
        assert "Anna &lt;i&gt;Datter&lt;/i&gt; bestilte en kopi af dine data" in history.text
        revoke = bent.post(f"{portal.url}/fuldmagter/{mandate.id}/tilbagekald",
                           data={"csrf": csrf_of(history.text)})
        assert revoke.status_code == 303

    with citizen(portal, "anna") as anna:
        assert anna.get(f"{portal.url}/handl-for").text.count('name="who"') == 1  # only herself


@pytest.mark.parametrize("path", [
    "/", "/hjaelp", "/tilgaengelighed", "/logget-ud", "/mine-data", "/bestil", "/anmodninger",
    "/del", "/fuldmagter", "/fuldmagter/ny", "/handl-for",
])
def test_every_page_renders_in_both_languages(portal: Portal, anna: httpx.Client,
                                              path: str) -> None:
    for language, marker in (("da", 'lang="da"'), ("en", 'lang="en"')):
        page = anna.get(f"{portal.url}{path}?lang={language}")
        assert page.status_code == 200 and marker in page.text
    assert 'lang="da"' in anna.get(f"{portal.url}{path}?lang=da").text


HOSTILE = [
    "", "x" * 100_000, "<script>alert(1)</script>", "=HYPERLINK(\"http://evil\")",
    '{"@context": "https://evil", "@id": "x"}', "a\r\nSet-Cookie: evil=1", "\x00\x01\x7f",
    "9" * 500, "-1", "../../etc/passwd", "%00", "\u202e\u200b",
]


def test_hostile_input_gets_a_page_and_never_a_500(portal: Portal, anna: httpx.Client) -> None:
    csrf = csrf_of(anna.get(f"{portal.url}/bestil").text)
    for value in HOSTILE:
        for method, path, fields in [
            ("POST", "/bestil/tjek", {"datasets": [value], "fra": value, "til": value}),
            ("POST", "/bestil", {"datasets": ["sager"], "key": value, "fra": value}),
            ("POST", f"/del/{portal.service_id}/tjek",
             {"datasets": [value], "purpose": value, "duration": value}),
            ("POST", "/fuldmagter/tjek", {"cpr": value, "name": value, "rights": [value],
                                          "until": value, "scope": value}),
            ("POST", "/handl-for", {"who": value, "next": value}),
            ("GET", f"/anmodninger/{quote(value[:300], safe='')}", {}),
            ("GET", f"/samtykker/{quote(value[:300], safe='')}", {}),
            ("GET", f"/del/{quote(value[:300], safe='')}", {}),
            ("GET", f"/anmodninger/{quote(value[:300], safe='')}/pakke/index.html", {}),
        ]:
            if method == "POST":
                answer = anna.post(portal.url + path, data={"csrf": csrf, **fields})
            else:
                answer = anna.get(portal.url + path)
            assert answer.status_code < 500, (path, value[:40], answer.status_code)
            assert "set-cookie" not in {k.lower() for k in answer.headers}
            assert "<script>alert" not in answer.text
    huge = anna.post(f"{portal.url}/bestil/tjek", content=b"csrf=" + b"x" * 200_000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    files = anna.post(f"{portal.url}/bestil/tjek", data={"csrf": csrf},
                      files={"datasets": ("a.txt", b"x")})
    assert files.status_code in (400, 403)
    query = anna.get(f"{portal.url}/bestil?fra={'9' * 5000}&datasets=%3Cb%3E")
    assert query.status_code == 200 and "<b>" not in query.text


def test_the_age_file_opens_with_the_age_command(portal: Portal, anna: httpx.Client,
                                                 tmp_path: Path) -> None:
    """What the package page tells the citizen to type works."""
    from tests.formats.test_age_interop import _with_tty

    request_id = request_package(portal, anna, ["person"])
    page = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke")
    phrase = "et langt og hemmeligt kodeord"
    wrapped = anna.post(f"{portal.url}/anmodninger/{request_id}/pakke.zip.age",
                        data={"csrf": csrf_of(page.text), "passphrase": phrase,
                              "passphrase2": phrase})
    encrypted = tmp_path / "kopi.zip.age"
    encrypted.write_bytes(wrapped.content)
    out = tmp_path / "kopi.zip"
    _with_tty(["age", "-d", "-o", str(out), str(encrypted)], phrase, prompts=1)
    assert "index.html" in zipfile.ZipFile(out).namelist()


def test_a_paused_service_is_shown_as_paused_and_takes_no_consent(portal: Portal,
                                                                  anna: httpx.Client) -> None:
    from exporter.delivery.registry import ACTIVE, SUSPENDED, set_service_state
    from exporter.service.audit import Actor

    admin = Actor("admin-1", "admin")
    set_service_state(portal.context, admin, portal.service_id, SUSPENDED)
    try:
        page = anna.get(f"{portal.url}/del")
        assert "Sat på pause" in page.text and f'href="/del/{portal.service_id}"' not in page.text
        assert anna.get(f"{portal.url}/del/{portal.service_id}").status_code == 403
    finally:
        set_service_state(portal.context, admin, portal.service_id, ACTIVE)


def test_a_mandate_limited_to_some_datasets_shows_only_those(portal: Portal) -> None:
    from exporter.cpr import Cpr
    from exporter.delivery.mandates import MandateSpec, grant_mandate, revoke_mandate
    from exporter.service.audit import Actor
    from exporter.service.requests import Scope, create_request

    bent = Actor(BENT, "citizen")
    mandate = grant_mandate(portal.context, bent, BENT, MandateSpec(
        representative=ANNA, rights=("request",), datasets=("person",),
        valid_until=datetime.now(UTC) + timedelta(days=10), subject_name="Bent Testesen",
        representative_name="Anna"))
    everything, _ = create_request(portal.context, bent, Cpr(BENT), Scope())
    person_only, _ = create_request(portal.context, bent, Cpr(BENT), Scope(("person",)))
    try:
        with citizen(portal, "anna") as anna:
            choose = anna.get(f"{portal.url}/handl-for")
            anna.post(f"{portal.url}/handl-for", data={"csrf": csrf_of(choose.text),
                                                       "who": mandate.id})
            overview = anna.get(f"{portal.url}/mine-data").text
            assert "Dine personoplysninger" in overview and "Dine sager" not in overview
            assert "Hvem behandler" not in overview and "<th scope=\"col\">Sag</th>" not in overview
            history = anna.get(f"{portal.url}/anmodninger").text
            assert person_only.id in history and everything.id not in history
            for path in ("", "/pakke", "/pakke.zip", "/fremdrift"):
                assert anna.get(f"{portal.url}/anmodninger/{everything.id}{path}"
                                ).status_code == 403, path
            assert anna.get(f"{portal.url}/anmodninger/{person_only.id}").status_code == 200
    finally:
        revoke_mandate(portal.context, bent, BENT, mandate.id)


def test_the_language_link_stays_on_the_site(portal: Portal, anna: httpx.Client) -> None:
    page = anna.get(f"{portal.url}//evil.example/x")
    assert page.status_code == 404
    links = re.findall(r'href="([^"]+)"', page.text)
    assert all(not link.startswith("//") and "evil" not in link.split("?")[0] for link in links)


def test_a_large_page_in_a_package_downloads_instead_of_opening(
        portal: Portal, anna: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from exporter.web.portal import packages

    request_id = request_package(portal, anna, ["person"])
    monkeypatch.setattr(packages, "_MAX_PAGE", 10)
    page = anna.get(f"{portal.url}/anmodninger/{request_id}/pakke/index.html")
    assert page.headers["content-disposition"].startswith("attachment")
    assert "text/html" not in page.headers["content-type"]


def test_the_page_s_own_polling_is_not_sent_to_log_in(portal: Portal) -> None:
    with citizen(portal, "anna") as anna:
        request_id = request_package(portal, anna, ["person"])
        anna.post(f"{portal.url}/log-ud",
                  data={"csrf": csrf_of(anna.get(f"{portal.url}/mine-data").text)})
        polled = anna.get(f"{portal.url}/anmodninger/{request_id}/fremdrift",
                          headers={"Sec-Fetch-Mode": "cors"})
        assert polled.status_code == 401 and "set-cookie" not in polled.headers
        navigated = anna.get(f"{portal.url}/anmodninger/{request_id}/fremdrift")
        assert navigated.status_code == 303
