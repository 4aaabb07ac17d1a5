"""Caseworkers: requests on a citizen's behalf, the deadline list, retries, extensions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import case, select

from exporter.api.deps import CaseworkerDep, ContextDep
from exporter.api.metrics import REQUESTS_CREATED
from exporter.api.routes.requests import IdempotencyKey, scope_of
from exporter.api.schemas import CaseworkerRequestCreate, ExtendDeadline, RequestPublic, to_public
from exporter.cpr import Cpr
from exporter.db.models import Request as RequestRow
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import ACTIVE, RequestState
from exporter.service.requests import NotFound, extend_deadline, new_request, retry_source

router = APIRouter(prefix="/v1/caseworker/requests", tags=["caseworker"])
BASE = "/v1/caseworker/requests"


def _actor(subject: str, role: str) -> Actor:
    return Actor(subject, role)


def _public(context: ServiceContext, request_id: str) -> RequestPublic:
    with context.sessions() as session:
        row = session.get(RequestRow, request_id)
    if row is None:
        raise NotFound("no such request")
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestPublic)
async def create(
    body: CaseworkerRequestCreate, principal: CaseworkerDep, context: ContextDep,
    response: Response, idempotency_key: IdempotencyKey = None,
) -> RequestPublic:
    """Register an access request on a citizen's behalf (e.g. one made by letter)."""
    cpr = Cpr.parse(body.cpr)
    row, created = await context.intake.create(new_request(
        context, _actor(principal.subject, principal.role.value), cpr, scope_of(body),
        idempotency_key=idempotency_key,
    ))
    if created:
        REQUESTS_CREATED.labels(role=principal.role.value).inc()
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{BASE}/{row.id}"
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.get("", response_model=list[RequestPublic])
def list_requests(
    principal: CaseworkerDep,
    context: ContextDep,
    state: Annotated[list[RequestState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RequestPublic]:
    """Requests by state, the most urgent first: active ones by deadline, then the rest."""
    deadline = RequestRow.extended_deadline.is_(None)
    effective = case((deadline, RequestRow.deadline), else_=RequestRow.extended_deadline)
    active_first = case((RequestRow.state.in_([s.value for s in ACTIVE]), 0), else_=1)
    query = select(RequestRow).order_by(active_first, effective, RequestRow.received_at)
    if state:
        query = query.where(RequestRow.state.in_([s.value for s in state]))
    with context.sessions() as session:
        rows = session.scalars(query.limit(limit).offset(offset)).all()
    today = datetime.now(UTC).date()
    return [to_public(r, context.profile, base=BASE, today=today) for r in rows]


@router.get("/{request_id}", response_model=RequestPublic)
def read(request_id: str, principal: CaseworkerDep, context: ContextDep) -> RequestPublic:
    return _public(context, request_id)


@router.post("/{request_id}/sources/{source_id}/retry", response_model=RequestPublic)
def retry(request_id: str, source_id: str, principal: CaseworkerDep,
          context: ContextDep) -> RequestPublic:
    """Collect a failed source again; the package is rebuilt with it."""
    retry_source(context, _actor(principal.subject, principal.role.value), request_id, source_id)
    return _public(context, request_id)


@router.post("/{request_id}/extend", response_model=RequestPublic)
def extend(request_id: str, body: ExtendDeadline, principal: CaseworkerDep,
           context: ContextDep) -> RequestPublic:
    """Extend the deadline (by up to two months in all), giving the reason."""
    extend_deadline(context, _actor(principal.subject, principal.role.value), request_id,
                    body.months, body.reason)
    return _public(context, request_id)
