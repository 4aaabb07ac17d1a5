"""Pushing packages to services: the citizen's own deliveries, and the caseworkers'
view of all of them (dead letters first of all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from exporter.api.delivery_schemas import DeliveryCreate, DeliveryPublic, delivery_public
from exporter.api.deps import CaseworkerDep, CitizenDep, ContextDep
from exporter.delivery.deliveries import (
    create_delivery,
    get_delivery,
    list_deliveries,
    retry_delivery,
)
from exporter.delivery.states import DeliveryState
from exporter.service.audit import Actor

router = APIRouter(prefix="/v1", tags=["deliveries"])


@router.post("/deliveries", status_code=status.HTTP_201_CREATED, response_model=DeliveryPublic)
def create(body: DeliveryCreate, principal: CitizenDep, context: ContextDep,
           response: Response) -> DeliveryPublic:
    """Push a ready package to a service you gave consent to. Without a consent that
    covers the service and the package's datasets: 403. The same package and service
    again gives the existing delivery (200)."""
    row, created = create_delivery(context, Actor(principal.subject, "citizen"),
                                   principal.cpr.digits, body.request_id, body.service_id,
                                   consent_id=body.consent_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/deliveries/{row.id}"
    return delivery_public(get_delivery(context, row.id))


@router.get("/deliveries", response_model=list[DeliveryPublic])
def list_mine(principal: CitizenDep, context: ContextDep) -> list[DeliveryPublic]:
    return [delivery_public(d) for d in list_deliveries(context, cpr_digits=principal.cpr.digits)]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryPublic)
def read(delivery_id: str, principal: CitizenDep, context: ContextDep) -> DeliveryPublic:
    """One delivery with the receipt of every attempt (time, status code, digest)."""
    return delivery_public(get_delivery(context, delivery_id, cpr_digits=principal.cpr.digits))


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryPublic)
def retry(delivery_id: str, principal: CitizenDep, context: ContextDep) -> DeliveryPublic:
    """Try a dead-lettered delivery again."""
    retry_delivery(context, Actor(principal.subject, "citizen"), delivery_id,
                   cpr_digits=principal.cpr.digits)
    return delivery_public(get_delivery(context, delivery_id))


@router.get("/caseworker/deliveries", response_model=list[DeliveryPublic], tags=["caseworker"])
def list_all(
    _principal: CaseworkerDep,
    context: ContextDep,
    state: Annotated[list[DeliveryState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeliveryPublic]:
    """Deliveries, newest first; ``?state=dead_letter`` for those that need a look."""
    states = [s.value for s in state] if state else None
    return [delivery_public(d)
            for d in list_deliveries(context, states=states, limit=limit, offset=offset)]


@router.get("/caseworker/deliveries/{delivery_id}", response_model=DeliveryPublic,
            tags=["caseworker"])
def read_any(delivery_id: str, _principal: CaseworkerDep, context: ContextDep) -> DeliveryPublic:
    return delivery_public(get_delivery(context, delivery_id))


@router.post("/caseworker/deliveries/{delivery_id}/retry", response_model=DeliveryPublic,
             tags=["caseworker"])
def retry_any(delivery_id: str, principal: CaseworkerDep, context: ContextDep) -> DeliveryPublic:
    retry_delivery(context, Actor(principal.subject, principal.role.value), delivery_id)
    return delivery_public(get_delivery(context, delivery_id))
