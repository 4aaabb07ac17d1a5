"""Representatives acting for citizens under a mandate (fuldmagt).

Every call names the citizen (``cpr``) and is checked against the representative's
mandates from that citizen: valid now, not revoked, and giving the right the action
needs (``request`` or ``push``). A refusal is a 403, audited; what is allowed is
audited as done by the representative on behalf of the citizen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from exporter.api.delivery_schemas import (
    DeliveryPublic,
    MandatePublic,
    RepresentativeDeliveryCreate,
    delivery_public,
    mandate_public,
)
from exporter.api.deps import ContextDep, RepresentativeDep
from exporter.api.routes.requests import IdempotencyKey, scope_of
from exporter.api.schemas import CaseworkerRequestCreate, RequestPublic, to_public
from exporter.cpr import Cpr
from exporter.db.models import Request as RequestRow
from exporter.delivery.deliveries import create_delivery, get_delivery, request_datasets
from exporter.delivery.mandates import authorise, list_mandates, representative_actor
from exporter.service.requests import create_request, get_request

router = APIRouter(prefix="/v1/representative", tags=["representative"])
BASE = "/v1/representative/requests"
CprQuery = Annotated[str, Query(max_length=11, description="The citizen you act for.")]


@router.get("/mandates", response_model=list[MandatePublic])
def mandates(principal: RepresentativeDep, context: ContextDep) -> list[MandatePublic]:
    """The mandates you hold."""
    now = datetime.now(UTC)
    return [mandate_public(m, now)
            for m in list_mandates(context, representative=principal.subject)]


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=RequestPublic)
def create(body: CaseworkerRequestCreate, principal: RepresentativeDep, context: ContextDep,
           response: Response, idempotency_key: IdempotencyKey = None) -> RequestPublic:
    """Request a citizen's data for them (needs the ``request`` right)."""
    cpr = Cpr.parse(body.cpr)
    scope = scope_of(body)
    authorise(context, principal.subject, cpr.digits, "request",
              datasets=scope.datasets or ())
    row, created = create_request(context, representative_actor(principal.subject, cpr.digits),
                                  cpr, scope, idempotency_key=idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{BASE}/{row.id}?cpr={cpr.digits}"
    return _request(context, row.id, cpr.digits)


def _request(context: ContextDep, request_id: str, cpr_digits: str) -> RequestPublic:
    row = get_request(context, request_id, cpr_digits=cpr_digits)
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.get("/requests/{request_id}", response_model=RequestPublic)
def read(request_id: str, cpr: CprQuery, principal: RepresentativeDep,
         context: ContextDep) -> RequestPublic:
    digits = Cpr.parse(cpr).digits
    authorise(context, principal.subject, digits, "request")
    return _request(context, request_id, digits)


@router.post("/deliveries", status_code=status.HTTP_201_CREATED, response_model=DeliveryPublic)
def push(body: RepresentativeDeliveryCreate, principal: RepresentativeDep, context: ContextDep,
         response: Response) -> DeliveryPublic:
    """Push a citizen's ready package to a service (needs the ``push`` right, covering
    the package's datasets and, if the mandate names services, that service)."""
    digits = Cpr.parse(body.cpr).digits
    with context.sessions() as session:
        request = session.get(RequestRow, body.request_id)
        datasets = request_datasets(context, request) \
            if request is not None and request.subject_cpr == digits else []
    mandate = authorise(context, principal.subject, digits, "push", datasets=datasets,
                        service_id=body.service_id)
    row, created = create_delivery(context, representative_actor(principal.subject, digits),
                                   digits, body.request_id, body.service_id, mandate=mandate)
    if not created:
        response.status_code = status.HTTP_200_OK
    return delivery_public(get_delivery(context, row.id))


@router.get("/deliveries/{delivery_id}", response_model=DeliveryPublic)
def read_delivery(delivery_id: str, cpr: CprQuery, principal: RepresentativeDep,
                  context: ContextDep) -> DeliveryPublic:
    digits = Cpr.parse(cpr).digits
    authorise(context, principal.subject, digits, "push")
    return delivery_public(get_delivery(context, delivery_id, cpr_digits=digits))
