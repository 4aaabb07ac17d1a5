"""Employees logging in to the console, at the municipality's own provider.

- ``GET /konsol/log-ind``: start a login (a fresh browser token in the console's
  cookie), off to the staff provider;
- ``GET /konsol/log-ind/retur``: the provider's callback: a new console session;
- ``POST /konsol/log-ud``: end the session here and at the provider;
- ``GET /konsol/logget-ud``: the page after logging out;
- ``POST /konsol/session/forny``: "stay logged in".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from exporter.login import cookie_name, logout, safe_next
from exporter.login.flow import STAFF_CALLBACK_PATH, begin_login, finish_staff_login
from exporter.login.oidc import OpenIdClient
from exporter.web.console.deps import StaffDep, StaffFormDep, staff_page
from exporter.web.portal.login import clear_cookie, login_client, set_cookie

router = APIRouter(tags=["pages"])
_HOME = "/konsol"


def _console(target: str) -> str:
    """``target`` if it is a console page, else the work queue."""
    return target if target == _HOME or target.startswith((_HOME + "/", _HOME + "?")) \
        else _HOME


@router.get("/konsol/log-ind")
def login(request: Request, next: str | None = None) -> Response:
    """Start a login at the municipality's provider (an off-site ``next`` is dropped)."""
    page = staff_page(request, required=False)
    target = _console(safe_next(next, _HOME))
    if page.session is not None:
        return page.redirect(target)
    client = login_client(page.context, request.app.state, "staff")
    url, browser = begin_login(page.context, client, next_path=target,
                               language=page.language, now=page.now, audience="staff")
    response = RedirectResponse(url, status_code=303)
    set_cookie(response, page.context.settings, browser, max_age=600, audience="staff")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(STAFF_CALLBACK_PATH)
def callback(request: Request) -> Response:
    """The staff provider sends the browser back here with a code (or an error)."""
    page = staff_page(request, required=False)
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    client = login_client(page.context, request.app.state, "staff")
    browser = request.cookies.get(cookie_name(page.context.settings, "staff"))
    done = finish_staff_login(page.context, client, params, browser, now=page.now)
    response = RedirectResponse(done.next_path, status_code=303)
    set_cookie(response, page.context.settings, done.token, max_age=None, audience="staff")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/konsol/log-ud")
def log_out(page: StaffDep, form: StaffFormDep) -> Response:
    """End the session here, then at the provider (which sends the browser back)."""
    logout(page.context, page.employee, now=page.now)
    back = page.context.settings.public_url + "/konsol/logget-ud"
    target = f"/konsol/logget-ud?lang={page.language}"
    client: OpenIdClient | None = getattr(page.request.app.state, "staff_login_client", None)
    if client is not None:
        target = client.end_session_url(back, language=page.language) or target
    response = RedirectResponse(target, status_code=303)
    clear_cookie(response, page.context.settings, "staff")
    return response


@router.get("/konsol/logget-ud", response_class=HTMLResponse)
def logged_out(request: Request, state: str | None = None) -> HTMLResponse:
    page = staff_page(request, required=False)
    if state in ("da", "en") and "lang" not in request.query_params:
        page.language = state
    return page.render("portal/logged_out.html.j2")


@router.post("/konsol/session/forny")
def renew(page: StaffDep, form: StaffFormDep) -> Response:
    if page.request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"seconds_left": page.seconds_left},
                            headers={"Cache-Control": "no-store"})
    return page.redirect(_console(safe_next(form.text("next"), _HOME)))
