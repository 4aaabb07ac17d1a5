"""Sessions and the pages' security at the edge: timeouts, CSRF, the form limit, the
cookie, the headers, and the API's use of the session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from exporter.api.app import create_app
from exporter.api.auth import Role, issue_token
from exporter.db.models import AuditEvent, WebSession
from exporter.login.sessions import token_hash
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from tests.portal import ANNA, Portal, browser_client, csrf_of, log_in, send_request

pytestmark = pytest.mark.provider


@pytest.fixture
def http(portal: Portal) -> Iterator[httpx.Client]:
    with browser_client() as client:
        log_in(client, portal)
        yield client


def _session(portal: Portal, http: httpx.Client) -> WebSession:
    with portal.context.sessions() as session:
        row = session.get(WebSession, token_hash(http.cookies["egnedata"]))
    assert row is not None
    return row


def _set(portal: Portal, http: httpx.Client, **values: object) -> None:
    with portal.context.sessions.begin() as session:
        session.execute(update(WebSession)
                        .where(WebSession.id == token_hash(http.cookies["egnedata"]))
                        .values(**values))


def _actions(portal: Portal, action: str) -> int:
    with portal.context.sessions() as session:
        return len(session.scalars(select(AuditEvent.id)
                                   .where(AuditEvent.action == action)).all())


def test_a_session_ends_after_15_idle_minutes(portal: Portal, http: httpx.Client) -> None:
    assert http.get(f"{portal.url}/mine-data").status_code == 200
    _set(portal, http, last_seen_at=datetime.now(UTC) - timedelta(minutes=16))
    page = http.get(f"{portal.url}/mine-data")
    assert page.status_code == 303 and page.headers["location"] == "/log-ind?next=%2Fmine-data"
    with portal.context.sessions() as session:
        assert session.get(WebSession, token_hash(http.cookies["egnedata"])) is None


def test_the_reconciler_forgets_ended_sessions(portal: Portal, http: httpx.Client) -> None:
    from exporter.service.reconcile import forget_expired

    _set(portal, http, last_seen_at=datetime.now(UTC) - timedelta(minutes=16))
    assert forget_expired(portal.context, datetime.now(UTC)) >= 1
    with portal.context.sessions() as session:
        assert session.get(WebSession, token_hash(http.cookies["egnedata"])) is None


def test_a_session_ends_at_its_absolute_end(portal: Portal, http: httpx.Client) -> None:
    _set(portal, http, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert http.get(f"{portal.url}/anmodninger").status_code == 303


def test_pages_move_the_idle_clock_and_progress_polling_does_not(
        portal: Portal, http: httpx.Client) -> None:
    page = http.get(f"{portal.url}/mine-data")
    seconds = int(re.search(r'data-session-seconds="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    assert 14 * 60 <= seconds <= 15 * 60
    assert 'data-warning-seconds="120"' in page.text and '<dialog id="timeout-dialog"' in page.text
    status_url = f"{portal.url}/anmodninger/{send_request(http, portal, ['person'])}"
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    _set(portal, http, last_seen_at=earlier)
    assert http.get(status_url + "/fremdrift").status_code == 200
    assert abs((_session(portal, http).last_seen_at - earlier).total_seconds()) < 1
    assert http.get(status_url).status_code == 200
    assert _session(portal, http).last_seen_at > earlier + timedelta(minutes=4)


def test_stay_logged_in(portal: Portal, http: httpx.Client) -> None:
    page = http.get(f"{portal.url}/mine-data")
    _set(portal, http, last_seen_at=datetime.now(UTC) - timedelta(minutes=14))
    renewed = http.post(f"{portal.url}/session/forny", data={"csrf": csrf_of(page.text)},
                        headers={"Accept": "application/json"})
    assert renewed.status_code == 200 and renewed.json()["seconds_left"] > 14 * 60
    back = http.post(f"{portal.url}/session/forny",
                     data={"csrf": csrf_of(page.text), "next": "https://evil.example/"})
    assert back.status_code == 303 and back.headers["location"] == "/mine-data"


@pytest.mark.parametrize("token", [None, "", "wrong", "x" * 5000])
def test_a_form_without_the_session_s_csrf_token_is_refused(
        portal: Portal, http: httpx.Client, token: str | None) -> None:
    before = _actions(portal, "csrf.refused")
    data = {"datasets": ["sager"]} if token is None else {"csrf": token, "datasets": ["sager"]}
    refused = http.post(f"{portal.url}/bestil/tjek", data=data)
    assert refused.status_code == 403 and "Formularen er for gammel" in refused.text
    assert _actions(portal, "csrf.refused") == before + 1


def test_another_session_s_csrf_token_is_refused(portal: Portal, http: httpx.Client) -> None:
    with browser_client() as other:
        log_in(other, portal, "bent")
        theirs = csrf_of(other.get(f"{portal.url}/bestil").text)
    assert http.post(f"{portal.url}/log-ud", data={"csrf": theirs}).status_code == 403
    assert http.get(f"{portal.url}/mine-data").status_code == 200  # still logged in


def test_forms_are_limited_per_session(portal: Portal, http: httpx.Client) -> None:
    csrf = csrf_of(http.get(f"{portal.url}/mine-data").text)
    limit = portal.settings.portal_post_limit
    answers = [http.post(f"{portal.url}/session/forny", data={"csrf": csrf},
                         headers={"Accept": "application/json"}).status_code
               for _ in range(limit + 1)]
    assert answers[:limit] == [200] * limit and answers[limit] == 429
    assert _actions(portal, "forms.limited") >= 1


def test_security_headers_on_every_page(portal: Portal, http: httpx.Client) -> None:
    for path in ("/", "/hjaelp", "/mine-data", "/bestil", "/nope", "/static/egnedata.css"):
        response = http.get(portal.url + path)
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
    # Logging out ends at the provider, so forms may go there (and only there).
    policy = http.get(f"{portal.url}/mine-data").headers["content-security-policy"]
    assert f"form-action 'self' {portal.provider.issuer}" in policy


def test_pages_set_no_cookie_but_the_session(portal: Portal) -> None:
    with browser_client() as anonymous:
        for path in ("/", "/hjaelp", "/tilgaengelighed", "/nope", "/mine-data"):
            assert "set-cookie" not in anonymous.get(portal.url + path).headers


def test_the_cookie_is_host_only_and_secure_over_https(portal: Portal) -> None:
    settings = portal.settings_with(public_url="https://egnedata.kommune.example")
    context = ServiceContext.build(settings, migrate=False)
    try:
        with TestClient(create_app(context, run_background=False),
                        base_url="https://egnedata.kommune.example") as client:
            started = client.get("/log-ind", follow_redirects=False)
            cookie = started.headers["set-cookie"]
            assert cookie.startswith("__Host-egnedata=")
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
            assert "Path=/" in cookie and "Domain" not in cookie
            assert "strict-transport-security" in started.headers
    finally:
        context.close()


def test_development_tokens_are_refused_outside_development(portal: Portal) -> None:
    settings = portal.settings_with(environment="production",
                                    public_url="https://egnedata.kommune.example")
    token = issue_token(portal.settings, ANNA, Role.CITIZEN)
    context = ServiceContext.build(settings, migrate=False)
    try:
        with TestClient(create_app(context, run_background=False)) as client:
            answer = client.get("/v1/requests", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401
            assert "development" in answer.json()["detail"]
    finally:
        context.close()
    # ...and accepted in development.
    assert httpx.get(f"{portal.url}/v1/requests",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_production_needs_https_and_login_settings() -> None:
    with pytest.raises(ValueError, match="https"):
        Settings(environment="production", token_secret="s" * 40,
                 public_url="http://egnedata.example")
    with pytest.raises(ValueError, match="LOGIN_CLIENT_ID"):
        Settings(login_issuer="https://login.example")
    with pytest.raises(ValueError, match="login_algorithms"):
        Settings(login_algorithms=("none",))
    with pytest.raises(ValueError, match="login_algorithms"):
        Settings(login_algorithms=("HS256",))


def test_the_api_takes_the_session_with_its_csrf_header(portal: Portal,
                                                        http: httpx.Client) -> None:
    mine = http.get(f"{portal.url}/v1/requests")
    assert mine.status_code == 200 and isinstance(mine.json(), list)
    refused = http.post(f"{portal.url}/v1/requests", json={"datasets": ["person"]})
    assert refused.status_code == 401
    csrf = csrf_of(http.get(f"{portal.url}/mine-data").text)
    made = http.post(f"{portal.url}/v1/requests", json={"datasets": ["person"]},
                     headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    overview = http.get(f"{portal.url}/v1/overview")
    assert overview.status_code == 200
    assert {d["id"] for d in overview.json()["datasets"]} >= {"person", "sager"}


def test_forms_may_end_at_the_provider_before_any_login(portal: Portal) -> None:
    """A process that has not yet handled a login still lets logging out reach the
    provider, and the headers never wait for the provider."""
    context = ServiceContext.build(portal.settings, migrate=False)
    try:
        with TestClient(create_app(context, run_background=False)) as client:
            policy = client.get("/").headers["content-security-policy"]
            assert f"form-action 'self' {portal.provider.issuer}" in policy
    finally:
        context.close()


def test_an_issuer_is_compared_exactly_and_its_discovery_found() -> None:
    from exporter.login import LoginRefused, OpenIdClient

    asked: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"issuer": "https://login.example/"})

    settings = Settings(login_issuer="https://login.example/", login_client_id="x",
                        login_client_auth="client_secret_basic", login_client_secret="s")
    assert settings.login_issuer == "https://login.example/"
    client = OpenIdClient(settings, http=httpx.Client(transport=httpx.MockTransport(provider)))
    with pytest.raises(LoginRefused):  # no endpoints in that document
        client.metadata()
    assert asked == ["https://login.example/.well-known/openid-configuration"]
