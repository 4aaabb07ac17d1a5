"""A citizen's consents to push data to services, with their signed receipts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from exporter.api.delivery_schemas import ConsentCreate, ConsentPublic, consent_public
from exporter.api.deps import CitizenDep, ContextDep
from exporter.delivery.consents import (
    ConsentSpec,
    get_consent,
    give_consent,
    list_consents,
    revoke_consent,
)
from exporter.service.audit import Actor

router = APIRouter(prefix="/v1/consents", tags=["citizen"])
BASE = "/v1/consents"


def _today() -> datetime:
    return datetime.now(UTC)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConsentPublic)
def create(body: ConsentCreate, principal: CitizenDep, context: ContextDep,
           response: Response) -> ConsentPublic:
    """Let a service receive your data. You get a signed receipt (see ``receipt``)."""
    spec = ConsentSpec(service_id=body.service_id, purpose=body.purpose,
                       datasets=tuple(body.datasets) if body.datasets is not None else None,
                       valid_until=body.valid_until, single_use=body.single_use)
    row = give_consent(context, Actor(principal.subject, "citizen"), principal.cpr.digits, spec)
    response.headers["Location"] = f"{BASE}/{row.id}"
    row = get_consent(context, principal.cpr.digits, row.id)
    return consent_public(row, base=BASE, today=_today().date())


@router.get("", response_model=list[ConsentPublic])
def list_mine(principal: CitizenDep, context: ContextDep) -> list[ConsentPublic]:
    today = _today().date()
    return [consent_public(c, base=BASE, today=today)
            for c in list_consents(context, principal.cpr.digits)]


@router.get("/{consent_id}", response_model=ConsentPublic)
def read(consent_id: str, principal: CitizenDep, context: ContextDep) -> ConsentPublic:
    """One consent with its history (every version of its receipt is kept)."""
    row = get_consent(context, principal.cpr.digits, consent_id)
    return consent_public(row, base=BASE, today=_today().date())


@router.get("/{consent_id}/receipt", response_class=Response,
            responses={200: {"content": {"application/ld+json": {}}}})
def receipt(consent_id: str, principal: CitizenDep, context: ContextDep) -> Response:
    """The current receipt, exactly the bytes that are signed (JSON-LD, DPV terms)."""
    row = get_consent(context, principal.cpr.digits, consent_id)
    return Response(row.receipt, media_type="application/ld+json", headers={
        "Content-Disposition": f'attachment; filename="consent-{row.id[:8]}.jsonld"',
        "Cache-Control": "no-store",
    })


@router.get("/{consent_id}/receipt.minisig", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def receipt_signature(consent_id: str, principal: CitizenDep, context: ContextDep) -> Response:
    """The receipt's minisign signature: ``minisign -Vm receipt.jsonld -x
    receipt.jsonld.minisig -p signing.pub``."""
    row = get_consent(context, principal.cpr.digits, consent_id)
    return Response(row.receipt_signature, media_type="text/plain",
                    headers={"Cache-Control": "no-store"})


@router.post("/{consent_id}/revoke", response_model=ConsentPublic)
def revoke(consent_id: str, principal: CitizenDep, context: ContextDep) -> ConsentPublic:
    """Withdraw the consent now. Nothing more is sent under it."""
    revoke_consent(context, Actor(principal.subject, "citizen"), principal.cpr.digits,
                   consent_id)
    row = get_consent(context, principal.cpr.digits, consent_id)
    return consent_public(row, base=BASE, today=_today().date())
