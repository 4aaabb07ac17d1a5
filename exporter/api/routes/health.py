"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from exporter.api.deps import ContextDep
from exporter.api.metrics import (
    ANSWER_DAYS,
    ANSWERED_LATE,
    ANSWERED_WITH_GAPS,
    RECEIVED_BY_MONTH,
    REGISTRY,
    REQUESTS_BY_STATE,
)
from exporter.console.stats import statistics_for
from exporter.db.models import Request
from exporter.deadlines import danish_date
from exporter.errors import EgneDataError
from exporter.service.context import ServiceContext

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(context: ContextDep) -> JSONResponse:
    """The database, the queue and the keys are usable."""
    checks: dict[str, str] = {}
    try:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    checks["queue"] = "ok" if context.queue.ping() else "unavailable"
    try:
        context.keyring  # noqa: B018 - loading is the check
        checks["keys"] = "ok"
    except EgneDataError:
        checks["keys"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


_STATS_SECONDS = 60.0
_stats_lock = threading.Lock()
_stats_at: dict[int, float] = {}


def _statistics(context: ServiceContext) -> None:
    """The console's figures for the last year, made again at most once a minute (a
    scrape every few seconds must not read a year of requests each time)."""
    with _stats_lock:
        if time.monotonic() - _stats_at.get(id(context), float("-inf")) < _STATS_SECONDS:
            return
        today = danish_date(datetime.now(UTC))
        found = statistics_for(context, today - timedelta(days=364), today, today=today)
        RECEIVED_BY_MONTH.clear()
        ANSWER_DAYS.clear()
        for kind in (found.requests, found.flags):
            for month in kind.by_month():
                RECEIVED_BY_MONTH.labels(kind=kind.kind, month=month.month).set(month.received)
            for quantile, value in (("0.5", kind.median_days), ("0.95", kind.p95_days)):
                if value is not None:
                    ANSWER_DAYS.labels(kind=kind.kind, quantile=quantile).set(value)
            ANSWERED_LATE.labels(kind=kind.kind).set(kind.late_share)
        ANSWERED_WITH_GAPS.set(found.requests.gaps_share)
        _stats_at.clear()  # one service per process; a test's new one is measured anew
        _stats_at[id(context)] = time.monotonic()


@router.get("/metrics", include_in_schema=False)
def metrics(context: ContextDep) -> Response:
    with context.sessions() as session:
        rows = session.execute(select(Request.state, func.count()).group_by(Request.state)).all()
    REQUESTS_BY_STATE.clear()
    for state, count in rows:
        REQUESTS_BY_STATE.labels(state=state).set(count)
    _statistics(context)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
