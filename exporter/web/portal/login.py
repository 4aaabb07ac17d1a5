"""Logging in and out with MitID (OpenID Connect), and keeping the session alive.

- ``GET /log-ind``: start a login (a fresh browser token in the cookie), off to the
  provider;
- ``GET /log-ind/retur``: the provider's callback: a new session, then the page asked
  for (or "who are you acting for" if the citizen holds mandates);
- ``POST /log-ud``: end the session here and at the provider;
- ``POST /session/forny``: "stay logged in" when the idle warning shows;
- ``GET /login/jwks.json``: the public keys the providers check client assertions with.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from exporter.delivery.mandates import valid_mandates
from exporter.login import (
    CALLBACK_PATH,
    OpenIdClient,
    begin_login,
    cookie_name,
    cookie_secure,
    finish_login,
    logout,
    safe_next,
)
from exporter.login.keys import load_client_key, public_jwks
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from exporter.web.deps import CitizenDep, FormDep, PageDep

router = APIRouter(tags=["pages"])
_lock = threading.Lock()
ANONYMOUS = Actor("anonymous", "anonymous")


_CLIENTS = {"citizen": "login_client", "staff": "staff_login_client"}


def login_client(context: ServiceContext, state: Any, audience: str = "citizen"
                 ) -> OpenIdClient:
    """The app's one OpenID client per audience (it caches the provider's metadata and
    keys): the citizens' (MitID) or the staff's (the municipality's provider)."""
    name = _CLIENTS[audience]
    client: OpenIdClient | None = getattr(state, name, None)
    if client is None:
        with _lock:
            client = getattr(state, name, None)
            if client is None:
                client = OpenIdClient(context.settings, audience=audience)
                setattr(state, name, client)
    return client


def provider_origins(state: Any, settings: Settings) -> frozenset[str]:
    """Where the pages' forms may end up (logging out ends at a provider): the issuers'
    origins, and those their discovery documents named if they were fetched. Never
    fetches anything: the security headers are set on every response."""
    origins: set[str] = set()
    for issuer in (settings.login_issuer, settings.staff_login_issuer):
        if issuer:
            parts = urlsplit(issuer)
            origins.add(f"{parts.scheme}://{parts.netloc}")
    for name in _CLIENTS.values():
        client: OpenIdClient | None = getattr(state, name, None)
        if client is not None:
            origins.update(client.cached_origins())
    return frozenset(origins)


def set_cookie(response: Response, settings: Settings, value: str, max_age: int | None,
               audience: str = "citizen") -> None:
    response.set_cookie(cookie_name(settings, audience), value, max_age=max_age, path="/",
                        secure=cookie_secure(settings), httponly=True, samesite="lax")


def clear_cookie(response: Response, settings: Settings, audience: str = "citizen") -> None:
    """Delete the session cookie (or a login's browser token) in the browser."""
    response.delete_cookie(cookie_name(settings, audience), path="/",
                           secure=cookie_secure(settings), httponly=True, samesite="lax")


@router.get("/log-ind")
def login(page: PageDep, next: str | None = None) -> Response:
    """Start a login at the identity provider. A ``next`` off the site is refused with a
    page (and audited): someone may have sent the citizen a misleading link."""
    target = safe_next(next)
    if next and target != next:
        with page.context.sessions.begin() as db:
            actor = Actor(page.session.cpr or "", "citizen") if page.session else ANONYMOUS
            audit.record(db, actor, "login.next_refused", detail={})
        return page.render("portal/next_refused.html.j2", status=400)
    if page.session is not None:
        return page.redirect(target)
    client = login_client(page.context, page.request.app.state)
    url, browser = begin_login(page.context, client, next_path=target,
                               language=page.language, now=page.now)
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, page.context.settings, browser, max_age=600)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(CALLBACK_PATH)
def callback(page: PageDep, request: Request) -> Response:
    """The provider sends the browser back here with a code (or an error)."""
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    client = login_client(page.context, request.app.state)
    browser = request.cookies.get(cookie_name(page.context.settings))
    done = finish_login(page.context, client, params, browser, now=page.now)
    target = done.next_path
    if valid_mandates(page.context, done.identity.cpr, page.now):
        target = "/handl-for?" + _next_query(target)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, page.context.settings, done.token, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def _next_query(target: str) -> str:
    return urlencode({"next": target})


@router.post("/log-ud")
def log_out(page: CitizenDep, form: FormDep) -> Response:
    """End the session here, then at the provider (which sends the browser back)."""
    logout(page.context, page.me, now=page.now)
    back = page.context.settings.public_url + "/logget-ud"
    target = f"/logget-ud?state={page.language}"
    client: OpenIdClient | None = getattr(page.request.app.state, "login_client", None)
    if client is not None:
        target = client.end_session_url(back, language=page.language) or target
    response = RedirectResponse(target, status_code=303)
    clear_cookie(response, page.context.settings)
    return response


@router.post("/session/forny")
def renew(page: CitizenDep, form: FormDep) -> Response:
    """Stay logged in: the request itself counted as activity. Answers JSON to the
    page's script, or goes back to the page without it."""
    if page.request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"seconds_left": page.seconds_left},
                            headers={"Cache-Control": "no-store"})
    return page.redirect(safe_next(form.text("next"), "/mine-data"))


@router.get("/login/jwks.json")
def client_jwks(request: Request) -> JSONResponse:
    """The public halves of the service's client keys (the citizens' login's and the
    console's), for the providers' registrations. No session is looked up."""
    settings = request.app.state.context.settings
    keys: dict[str, Any] = {}
    for path in (settings.login_client_key, settings.staff_login_client_key):
        if path is not None:
            for key in public_jwks(load_client_key(path))["keys"]:
                keys.setdefault(key.get("kid", ""), key)
    return JSONResponse({"keys": list(keys.values())})


