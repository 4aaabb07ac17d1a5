"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has this shape; nothing reaches the client as a bare 500
with a stack trace, and validation errors name the field and the rule but never echo
the submitted value (it may be a CPR number).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from exporter.api.auth import AuthError
from exporter.delivery.consents import NotAllowed
from exporter.delivery.registry import InvalidService
from exporter.errors import InvalidCprError, KeyringError
from exporter.flags import EvidenceRefused, EvidenceTooLarge, InvalidContribution, InvalidFlag
from exporter.service.lifecycle import IllegalTransition
from exporter.service.requests import Conflict, NotFound, UnknownDataset
from exporter.storage import BlobNotFound

__all__ = ["PageError", "Problem", "install", "is_api_path", "problem_response"]

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid request",
    500: "Internal error",
    503: "Service unavailable",
}


_PLAIN: dict[type[Exception], int] = {
    InvalidCprError: 422,
    UnknownDataset: 422,
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    NotAllowed: 403,
    InvalidService: 422,
    InvalidFlag: 422,
    InvalidContribution: 422,
    EvidenceRefused: 422,
    EvidenceTooLarge: 413,
}
"""Errors whose own message is the problem's detail."""


PageError = Callable[[Request, int, Exception], Awaitable[Response]]
"""Renders an error as a web page (``exporter.web.errors``), for paths outside the API."""

_API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/metrics", "/static/")


def is_api_path(path: str) -> bool:
    """Whether ``path`` answers machines (problem documents) rather than people (pages)."""
    return path.startswith(_API_PREFIXES) or path == "/v1"


class Problem(Exception):
    """Raise in a route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra


def problem_response(
    status: int, detail: str, *, instance: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        errors.append({"field": ".".join(loc) or "(body)", "problem": str(error.get("msg", ""))})
    return errors[:20]


def install(app: FastAPI, page_error: PageError | None = None) -> None:
    """Answer errors with problem documents; with ``page_error``, errors on page paths
    are rendered by it instead."""
    def at(request: Request) -> str:
        return request.url.path

    def on_page(request: Request) -> bool:
        return page_error is not None and not is_api_path(request.url.path)

    async def as_page(request: Request, status: int, exc: Exception) -> Response:
        assert page_error is not None
        return await page_error(request, status, exc)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        if on_page(request):
            return await as_page(request, exc.status, exc)
        return problem_response(exc.status, exc.detail, instance=at(request),
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if on_page(request):
            return await as_page(request, exc.status_code, exc)
        return problem_response(exc.status_code, str(exc.detail), instance=at(request),
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if on_page(request):
            return await as_page(request, 400, exc)
        return problem_response(422, "the request does not have the expected form",
                                instance=at(request), errors=_validation_errors(exc))

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> Response:
        if on_page(request):
            return await as_page(request, 401, exc)
        return problem_response(401, str(exc), instance=at(request),
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def plain(status: int) -> Any:
        async def handler(request: Request, exc: Exception) -> Response:
            if on_page(request):
                return await as_page(request, status, exc)
            return problem_response(status, str(exc), instance=at(request))

        return handler

    for error_class, status in _PLAIN.items():
        app.add_exception_handler(error_class, plain(status))

    @app.exception_handler(BlobNotFound)
    async def _blob(request: Request, exc: BlobNotFound) -> Response:
        log.error("a package blob is missing")
        if on_page(request):
            return await as_page(request, 410, exc)
        return problem_response(404, "the package is no longer stored", instance=at(request))

    @app.exception_handler(KeyringError)
    async def _keys(request: Request, exc: KeyringError) -> Response:
        log.error("key problem: %s", exc)
        if on_page(request):
            return await as_page(request, 503, exc)
        return problem_response(503, "the service's keys are not available", instance=at(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, at(request))
        if on_page(request):
            return await as_page(request, 500, exc)
        return problem_response(500, "something went wrong on our side", instance=at(request))
