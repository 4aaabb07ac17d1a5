"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from exporter.api.deps import ContextDep
from exporter.api.metrics import REGISTRY, REQUESTS_BY_STATE
from exporter.db.models import Request
from exporter.errors import EgneDataError

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


@router.get("/metrics", include_in_schema=False)
def metrics(context: ContextDep) -> Response:
    with context.sessions() as session:
        rows = session.execute(select(Request.state, func.count()).group_by(Request.state)).all()
    REQUESTS_BY_STATE.clear()
    for state, count in rows:
        REQUESTS_BY_STATE.labels(state=state).set(count)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
