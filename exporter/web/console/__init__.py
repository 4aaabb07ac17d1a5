"""The municipality's console: pages for caseworkers, the data-protection officer and
auditors, behind their own login, on the same service functions as ``/v1``."""

from __future__ import annotations

from exporter.web.console import (
    contributions,
    flags,
    login,
    queue,
    reports,
    requests,
    services,
)

__all__ = ["ROUTERS"]

ROUTERS = (login.router, queue.router, requests.router, flags.router, contributions.router,
           services.router, reports.router)
