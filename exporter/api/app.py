"""The HTTP API (``/v1``), built around one :class:`ServiceContext`."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exporter import web
from exporter.api import problems
from exporter.api.metrics import HTTP_LATENCY
from exporter.api.routes import (
    caseworker,
    consents,
    deliveries,
    flags,
    health,
    mandates,
    overview,
    representative,
    requests,
    services,
)
from exporter.service.background import Background
from exporter.service.context import ServiceContext, freeze_startup_objects

__all__ = ["app_from_settings", "create_app"]

log = logging.getLogger(__name__)


class _BodyLimit:
    """Refuses bodies over ``limit`` bytes with 413, whether announced or streamed;
    paths matching one of ``larger`` (file uploads) have their own limit."""

    def __init__(self, app: ASGIApp, limit: int,
                 larger: Sequence[tuple[re.Pattern[str], int]] = ()) -> None:
        self.app, self.default, self.larger = app, limit, list(larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for pattern, n in self.larger if pattern.match(path)), self.default)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(scope, receive, send, limit)
                    return
        # Bodies are small (JSON of a few KiB): read the whole body, up to the limit,
        # before the application sees any of it.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problems.problem_response(
            413, f"the request body is larger than {limit} bytes",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


class _Timing:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "(unmatched)")  # the template, never ids
            HTTP_LATENCY.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )


async def _warm_routes(app: ASGIApp) -> None:
    """Send the app one request that matches no route, before the server takes any:
    FastAPI builds its middleware stack and each router's routes on the first request
    that passes through them, which would otherwise make a fresh server's first
    requests about twice as slow as the rest."""
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": "/v1/.warm-up", "raw_path": b"/v1/.warm-up",
        "query_string": b"", "root_path": "", "headers": [], "client": None,
        "server": None, "state": {},
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        pass

    await app(scope, receive, send)


def create_app(
    context: ServiceContext, *, run_background: bool = True, server: bool = False
) -> FastAPI:
    """The API over ``context``; with ``run_background``, also this process's reconciler
    and audit sealer (:mod:`exporter.service.background`). ``server``: the app is all
    this process runs (``egnedata serve``), so what it made while starting may be frozen
    (:func:`~exporter.service.context.freeze_startup_objects`)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(context.warm_up)
        await _warm_routes(app)
        if server:
            freeze_startup_objects()
        background = Background(context) if run_background else None
        try:
            yield
        finally:
            if background is not None:
                background.stop()
            login_client = getattr(app.state, "login_client", None)
            if login_client is not None:  # made by the pages on the first login
                login_client.close()

    app = FastAPI(
        title="Egne Data",
        version="1",
        summary="Access requests (GDPR Art. 15) and portable data packages.",
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.context = context
    problems.install(app, page_error=web.page_error)
    for module in (requests, caseworker, consents, mandates, deliveries, representative,
                   services, health, overview, flags):
        app.include_router(module.router)
    web.install(app)
    limited: Any = _BodyLimit
    files = context.settings.evidence_max_bytes + 64 * 1024  # the form's other fields
    app.add_middleware(limited, limit=context.settings.max_body_bytes,
                       larger=[(re.compile(p), files) for p in (*flags.EVIDENCE_PATHS,
                                                                *web.FILE_PATHS)])
    app.add_middleware(_Timing)
    return app


def app_from_settings() -> FastAPI:
    """The app for one server process, built from the environment's settings.

    ``egnedata serve --workers N`` starts N processes, each calling this: each has its
    own database connections and reconciler.
    """
    from exporter.service.context import set_context
    from exporter.settings import get_settings

    context = ServiceContext.build(get_settings(), migrate=False)
    set_context(context)
    return create_app(context, server=True)
