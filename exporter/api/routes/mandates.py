"""A citizen's mandates (fuldmagt): who may act for them, how, and until when."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from exporter.api.delivery_schemas import MandateCreate, MandatePublic, mandate_public
from exporter.api.deps import CitizenDep, ContextDep
from exporter.delivery.mandates import MandateSpec, grant_mandate, list_mandates, revoke_mandate
from exporter.service.audit import Actor

router = APIRouter(prefix="/v1/mandates", tags=["citizen"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MandatePublic)
def create(body: MandateCreate, principal: CitizenDep, context: ContextDep) -> MandatePublic:
    """Let a representative request your data or push it to services for you."""
    spec = MandateSpec(
        representative=body.representative, rights=tuple(body.rights),
        valid_until=body.valid_until, valid_from=body.valid_from,
        datasets=tuple(body.datasets) if body.datasets is not None else None,
        services=tuple(body.services) if body.services is not None else None,
    )
    row = grant_mandate(context, Actor(principal.subject, "citizen"), principal.cpr.digits,
                        spec)
    return mandate_public(row, datetime.now(UTC))


@router.get("", response_model=list[MandatePublic])
def list_mine(principal: CitizenDep, context: ContextDep) -> list[MandatePublic]:
    now = datetime.now(UTC)
    return [mandate_public(m, now)
            for m in list_mandates(context, cpr_digits=principal.cpr.digits)]


@router.post("/{mandate_id}/revoke", response_model=MandatePublic)
def revoke(mandate_id: str, principal: CitizenDep, context: ContextDep) -> MandatePublic:
    row = revoke_mandate(context, Actor(principal.subject, "citizen"), principal.cpr.digits,
                         mandate_id)
    return mandate_public(row, datetime.now(UTC))
