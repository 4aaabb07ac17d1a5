"""The citizen's pages ("Mine data"), one module per group of pages."""

from __future__ import annotations

from exporter.web.portal import flags, login, mandates, packages, requests, sharing, start

__all__ = ["ROUTERS"]

ROUTERS = (start.router, login.router, requests.router, packages.router, sharing.router,
           flags.router, mandates.router)
