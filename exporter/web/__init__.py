"""The web pages: the citizen's portal and the municipality's console, served beside the
API by the same app.

Pages call the same service functions as ``/v1``; security is decided at the edge
(:mod:`exporter.web.deps`, :mod:`exporter.web.security`). Templates, texts and static
files live in ``templates/web``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from exporter.web import errors
from exporter.web.console import ROUTERS as CONSOLE_ROUTERS
from exporter.web.portal import ROUTERS
from exporter.web.portal.login import provider_origins
from exporter.web.security import SecurityHeaders

__all__ = ["FILE_PATHS", "install", "page_error"]

FILE_PATHS = (r"^/indsigelser$", r"^/indsigelser/[^/]+/tilfoej$", r"^/bidrag$")
"""Page routes whose forms carry a file (their bodies may be larger)."""

page_error = errors.page_error


def install(app: FastAPI) -> None:
    """Add the pages, their static files, their error pages and the security headers."""
    for router in (*ROUTERS, *CONSOLE_ROUTERS):
        app.include_router(router)
    static = resources.files("templates").joinpath("web", "static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    errors.install(app)
    settings = app.state.context.settings
    app.add_middleware(SecurityHeaders,
                       form_targets=lambda: provider_origins(app.state, settings),
                       hsts=settings.public_url.startswith("https://"))
