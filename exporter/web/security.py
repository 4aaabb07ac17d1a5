"""Security headers on every response, set once at the edge.

Pages get a Content-Security-Policy that allows only the service's own scripts, styles,
images and fonts (no ``unsafe-inline``, nothing from elsewhere), forms posting to the
service itself and to the identity provider (logging out ends there), no framing.
Every response also gets ``Referrer-Policy: no-referrer`` and ``nosniff``; the API's
interactive docs (``/v1/docs``) load their own scripts, so ``/v1`` gets only the
framing rule of the policy. A response that set its own policy (a package's pages,
opened in a sandbox) keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "page_policy"]


def page_policy(form_targets: Iterable[str] = ()) -> str:
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        f"form-action {targets}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware; ``form_targets()`` names the origins forms may end at (the
    identity provider's, once known)."""

    def __init__(self, app: ASGIApp, form_targets: Callable[[], Iterable[str]],
                 *, hsts: bool) -> None:
        self.app, self.form_targets, self.hsts = app, form_targets, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/v1/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = (
                        "frame-ancestors 'none'" if api else page_policy(self.form_targets()))
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, sending)
