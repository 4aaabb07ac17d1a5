"""Logging in against the real local OpenID Provider: the whole flow, and every way a
callback can be wrong, each refused with a clear page and an audit event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from exporter.db.models import AuditEvent, LoginAttempt, Mandate, Request, WebSession
from exporter.login.sessions import token_hash
from tests.portal import (
    ANNA,
    BENT,
    CARL,
    Portal,
    browser_client,
    csrf_of,
    log_in,
    send_request,
    start_login,
)

pytestmark = pytest.mark.provider


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with browser_client() as client:
        yield client


def refusals(portal: Portal) -> list[str]:
    with portal.context.sessions() as session:
        return [e.detail["reason"] for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.refused")
            .order_by(AuditEvent.id)).all()]


def assert_refused(portal: Portal, response: httpx.Response, reason: str,
                   before: list[str]) -> None:
    assert response.status_code in (403, 503), response.text[:300]
    assert "text/html" in response.headers["content-type"]
    assert f"<code>{reason}</code>" in response.text
    assert refusals(portal)[len(before):] == [reason]
    cookie = response.headers.get("set-cookie", "")
    assert "egnedata=" in cookie and "Max-Age=0" in cookie  # the login cookie is gone


def test_a_citizen_logs_in_and_the_session_is_theirs(portal: Portal, http: httpx.Client) -> None:
    response = log_in(http, portal, "anna", "/anmodninger")
    assert response.status_code == 303 and response.headers["location"] == "/anmodninger"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = http.cookies["egnedata"]
    with portal.context.sessions() as session:
        row = session.get(WebSession, token_hash(token))
    assert row is not None and row.cpr == ANNA and row.assurance_level == "Substantial"
    assert row.subject == "anna" and ANNA not in token
    page = http.get(f"{portal.url}/mine-data")
    assert page.status_code == 200 and "Anna Testesen" in page.text
    assert ANNA not in page.text and "710190" not in page.text.split("<title>")[1][:200]


def test_the_assurance_level_is_kept_with_each_request(portal: Portal, http: httpx.Client) -> None:
    log_in(http, portal, "carl")
    http.get(f"{portal.url}/handl-for")  # Carl holds a mandate from Bent: he is asked
    request_id = send_request(http, portal, ["sager"])
    with portal.context.sessions() as session:
        row = session.get(Request, request_id)
    assert row is not None and row.assurance_level == "High" and row.subject_cpr == CARL


def test_a_login_brings_nemlogin_privileges_as_mandates(portal: Portal,
                                                        http: httpx.Client) -> None:
    response = log_in(http, portal, "carl", "/bestil")
    assert response.headers["location"] == "/handl-for?next=%2Fbestil"
    with portal.context.sessions() as session:
        mandates = session.scalars(select(Mandate).where(
            Mandate.representative == CARL, Mandate.created_by_role == "login",
            Mandate.revoked_at.is_(None))).all()
    assert [(m.subject_cpr, m.rights) for m in mandates] == [(BENT, ["request"])]
    choose = http.get(f"{portal.url}/handl-for?next=/bestil")
    assert "720150-xxxx" in choose.text and BENT not in choose.text  # no name came with it
    mandate_id = re.findall(r'name="who" value="([^"]+)"', choose.text)[1]
    assert mandate_id == mandates[0].id
    chosen = http.post(f"{portal.url}/handl-for", data={
        "csrf": csrf_of(choose.text), "who": mandate_id, "next": "/bestil"})
    assert chosen.headers["location"] == "/bestil"
    page = http.get(f"{portal.url}/bestil")
    assert "på vegne af" in page.text and "720150-xxxx" in page.text
    # Carl's mandate gives no right to push: the sharing pages refuse, audited.
    refused = http.get(f"{portal.url}/del")
    assert refused.status_code == 403
    # Back to himself.
    back = http.post(f"{portal.url}/handl-for", data={"csrf": csrf_of(page.text), "who": "me"})
    assert back.status_code == 303
    assert "på vegne af" not in http.get(f"{portal.url}/bestil").text


def test_a_replayed_state_is_refused(portal: Portal, http: httpx.Client) -> None:
    callback = start_login(http, portal)
    assert http.get(callback).status_code == 303
    before = refusals(portal)
    http.cookies.set("egnedata", "x")  # what the browser had before logging in
    replay = http.get(callback)
    assert_refused(portal, replay, "state", before)


def test_a_callback_in_another_browser_is_refused(portal: Portal, http: httpx.Client) -> None:
    callback = start_login(http, portal)
    before = refusals(portal)
    with browser_client() as other:
        assert_refused(portal, other.get(callback), "browser", before)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_wrong_iss_is_refused(portal: Portal, http: httpx.Client) -> None:
    callback = start_login(http, portal)
    before = refusals(portal)
    forged = _with_query(callback, iss="https://evil.example")
    assert_refused(portal, http.get(forged), "iss", before)


def test_a_missing_iss_is_refused_when_the_provider_sends_one(portal: Portal,
                                                               http: httpx.Client) -> None:
    callback = start_login(http, portal)
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "iss"}
    before = refusals(portal)
    stripped = urlunsplit(parts._replace(query=urlencode(query)))
    assert_refused(portal, http.get(stripped), "iss", before)


def test_a_wrong_nonce_is_refused(portal: Portal, http: httpx.Client) -> None:
    callback = start_login(http, portal)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with portal.context.sessions.begin() as session:  # as if the token were for another login
        session.execute(update(LoginAttempt).where(LoginAttempt.state_hash == token_hash(state))
                        .values(nonce="another-login-s-nonce"))
    before = refusals(portal)
    assert_refused(portal, http.get(callback), "nonce", before)


def test_a_forged_code_is_refused_by_the_token_endpoint(portal: Portal,
                                                        http: httpx.Client) -> None:
    callback = start_login(http, portal)
    before = refusals(portal)
    assert_refused(portal, http.get(_with_query(callback, code="forged")), "token", before)


def test_assurance_level_low_is_refused(portal: Portal, http: httpx.Client) -> None:
    before = refusals(portal)
    response = log_in(http, portal, "lise")
    assert_refused(portal, response, "low_assurance", before)
    assert "sikringsniveau" in response.text


def test_a_login_without_a_cpr_number_says_what_to_do(portal: Portal,
                                                      http: httpx.Client) -> None:
    before = refusals(portal)
    response = log_in(http, portal, "uden-cpr")
    assert_refused(portal, response, "no_cpr", before)
    assert "skrive til kommunen" in response.text


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "/ok\r\nSet-Cookie: x=1", "http:/evil.example",
])
def test_a_next_off_the_site_is_refused(portal: Portal, http: httpx.Client, target: str) -> None:
    def count() -> int:
        with portal.context.sessions() as session:
            return len(session.scalars(select(AuditEvent.id).where(
                AuditEvent.action == "login.next_refused")).all())

    before = count()
    response = http.get(f"{portal.url}/log-ind?{urlencode({'next': target})}")
    assert response.status_code == 400 and "uden for Egne Data" in response.text
    assert "set-cookie" not in response.headers and "location" not in response.headers
    assert 'href="/log-ind"' in response.text
    links = re.findall(r'href="([^"]+)"', response.text)
    assert all(link.startswith(("/", "#", "?", "mailto:")) and not link.startswith("//")
               for link in links), links
    assert count() == before + 1


def test_after_login_the_browser_goes_to_the_local_page_asked_for(
        portal: Portal, http: httpx.Client) -> None:
    assert log_in(http, portal, "anna", "/del?x=1").headers["location"] == "/del?x=1"


def test_a_session_id_set_before_login_is_never_used(portal: Portal,
                                                     http: httpx.Client) -> None:
    planted = "planted-by-someone-else-0123456789abcdef"
    http.cookies.set("egnedata", planted, domain="127.0.0.1")
    response = log_in(http, portal)
    assert response.status_code == 303
    assert http.cookies["egnedata"] != planted
    with browser_client() as attacker:
        attacker.cookies.set("egnedata", planted)
        page = attacker.get(f"{portal.url}/mine-data")
        assert page.status_code == 303 and page.headers["location"].startswith("/log-ind")


def test_logout_ends_the_session_here_and_at_the_provider(portal: Portal,
                                                          http: httpx.Client) -> None:
    log_in(http, portal)
    token = http.cookies["egnedata"]
    page = http.get(f"{portal.url}/mine-data")
    out = http.post(f"{portal.url}/log-ud", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    location = out.headers["location"]
    assert location.startswith(portal.provider.issuer + "/session/end?")
    assert "id_token_hint" not in location and ANNA not in location
    with portal.context.sessions() as session:
        assert session.get(WebSession, token_hash(token)) is None
    with browser_client() as other:
        other.cookies.set("egnedata", token)
        assert other.get(f"{portal.url}/mine-data").status_code == 303
    # The provider asks to confirm, then sends the browser back to the portal.
    confirm = http.get(location)
    assert confirm.status_code == 200 and "logout" in confirm.text.lower()
    form = confirm.text.split('action="')[1].split('"')[0]
    xsrf = confirm.text.split('name="xsrf" value="')[1].split('"')[0]
    done = http.post(form if form.startswith("http") else portal.provider.issuer + form,
                     data={"xsrf": xsrf, "logout": "yes"})
    assert done.headers["location"].startswith(f"{portal.url}/logget-ud?state=da")


def test_client_secret_basic_works_too(portal: Portal, http: httpx.Client) -> None:
    from exporter.login import OpenIdClient
    from tests.portal import BASIC_CLIENT_ID, BASIC_SECRET

    settings = portal.settings_with(login_client_id=BASIC_CLIENT_ID,
                                    login_client_auth="client_secret_basic",
                                    login_client_secret=SecretStr(BASIC_SECRET))
    client = OpenIdClient(settings)
    redirect = portal.url + "/log-ind/retur"
    request = client.begin(redirect, language="da")
    response = http.get(request.url)
    location = response.headers["location"]
    page = http.get(portal.provider.issuer + location if location.startswith("/") else location)
    action = page.text.split('action="')[1].split('"')[0]
    response = http.post(portal.provider.issuer + action if action.startswith("/") else action,
                         data={"prompt": "login", "login": "anna", "password": "x"})
    location = response.headers["location"]
    while not location.startswith(redirect):
        response = http.get(location)
        location = response.headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    claims = client.verify_id_token(client.exchange(code, request.code_verifier, redirect),
                                    request.nonce)
    assert claims["dk.cpr"] == ANNA and claims["aud"] == BASIC_CLIENT_ID
