"""Errors on pages: a page in the citizen's language that says what happened and what to
do, never a stack trace, a service's English message or a value the citizen sent.

Logging in is asked for by a redirect; a refused login gets a page per reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exporter.login.errors import LoginRefused
from exporter.web.console.deps import StaffPage, StaffRefused, staff_page
from exporter.web.deps import BadForm, CsrfRefused, LoginNeeded, Page, TooManyForms, page
from exporter.web.portal.login import clear_cookie
from exporter.web.render import LANGUAGES

__all__ = ["install", "page_error"]

log = logging.getLogger(__name__)


def _console(request: Request) -> bool:
    path = request.url.path
    return path == "/konsol" or path.startswith("/konsol/")


def _page(request: Request, status: int) -> Page:
    """The page the error is shown on: with its session where the database answers (the
    employee's on the console's paths)."""
    if status < 500:
        try:
            return staff_page(request, required=False) if _console(request) \
                else page(request)
        except Exception:  # the error page must not fail too
            log.warning("error page without a session", exc_info=False)
    language = request.query_params.get("lang")
    language = language if language in LANGUAGES else "da"
    if _console(request):
        return StaffPage(request, request.app.state.context, language, None,
                         datetime.now(UTC))
    return Page(request, request.app.state.context, language, None, datetime.now(UTC))


def _render(request: Request, status: int, kind: str) -> HTMLResponse:
    current = _page(request, status)
    return current.render("error.html.j2", status=status, kind=kind)


def _refused_login(request: Request, refusal: LoginRefused) -> HTMLResponse:
    current = _page(request, 403)
    if refusal.language in LANGUAGES and "lang" not in request.query_params:
        current.language = refusal.language
    status = 503 if refusal.reason in ("not_configured", "provider_unreachable") else 403
    response = current.render("portal/login_refused.html.j2", status=status,
                              reason=refusal.reason)
    if current.session is None:  # the cookie held the failed login's browser token
        clear_cookie(response, current.context.settings,
                     "staff" if _console(request) else "citizen")
    return response


def _kind(status: int) -> str:
    return {400: "bad_request", 401: "login", 403: "forbidden", 404: "not_found",
            405: "not_found", 409: "conflict", 410: "gone", 413: "too_large",
            429: "too_many", 503: "unavailable"}.get(status, "internal")


def _sync_page_error(request: Request, status: int, exc: Exception) -> Response:
    if isinstance(exc, LoginNeeded):
        if request.headers.get("sec-fetch-mode", "navigate") != "navigate":
            # A script's fetch (the progress polling): a login would start for nothing.
            return Response(status_code=401, headers={"Cache-Control": "no-store"})
        return RedirectResponse(f"{exc.login_path}?" + urlencode({"next": exc.next_path}),
                                303)
    if isinstance(exc, LoginRefused):
        return _refused_login(request, exc)
    if isinstance(exc, CsrfRefused):
        return _render(request, 403, "csrf")
    if isinstance(exc, TooManyForms):
        return _render(request, 429, "too_many")
    if isinstance(exc, BadForm):
        return _render(request, 400, "bad_request")
    if isinstance(exc, StaffRefused):
        return _render(request, 403, "role")
    return _render(request, status, _kind(status))


async def page_error(request: Request, status: int, exc: Exception) -> Response:
    """Render ``exc`` as a page (the database work runs off the event loop)."""
    return await anyio.to_thread.run_sync(_sync_page_error, request, status, exc)


def install(app: FastAPI) -> None:
    """Handlers for the errors only pages raise (the others come through
    :func:`exporter.api.problems.install` with :func:`page_error`)."""
    for error_class, status in ((LoginNeeded, 303), (LoginRefused, 403), (CsrfRefused, 403),
                                (TooManyForms, 429), (StaffRefused, 403), (BadForm, 400)):
        def handler(request: Request, exc: Exception, status: int = status) -> Response:
            return _sync_page_error(request, status, exc)
        app.add_exception_handler(error_class, handler)
