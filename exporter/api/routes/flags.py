"""Flags on records (GDPR Art. 16, 18): a citizen's objections and the caseworker's
answers, with evidence; and the citizen's own contributions."""

from __future__ import annotations

import io
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from exporter.api.auth import Principal
from exporter.api.deps import CaseworkerDep, CitizenDep, ContextDep, UnitCaseworkerDep
from exporter.api.flag_schemas import (
    ContributionCreate,
    ContributionPublic,
    EvidencePublic,
    FlagCaseworker,
    FlagCreate,
    FlagDecision,
    FlagExtension,
    FlagPublic,
    contribution_public,
    flag_caseworker,
    flag_public,
)
from exporter.db.models import Evidence
from exporter.flags import (
    ContributionSpec,
    FlagSpec,
    FlagState,
    add_contribution,
    add_contribution_evidence,
    add_flag_evidence,
    decide_flag,
    extend_flag,
    flag_notices,
    flag_queue,
    get_contribution,
    get_flag,
    in_units,
    list_contributions,
    list_flags,
    mark_seen,
    raise_flag,
    read_evidence,
    take_flag,
    unseen_contributions,
    withdraw_contribution,
    withdraw_flag,
)
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import NotFound

router = APIRouter(prefix="/v1", tags=["flags"])
Filename = Annotated[str, Query(max_length=200, description="The file's name, as a label.")]
EVIDENCE_PATHS = (r"^/v1/flags/[^/]+/evidence$", r"^/v1/contributions/[^/]+/documents$")
"""Routes whose bodies are files, up to ``evidence_max_bytes`` rather than
``max_body_bytes``."""


def _citizen(principal_subject: str) -> Actor:
    return Actor(principal_subject, "citizen")


def _public(context: ServiceContext, flag_id: str, cpr_digits: str) -> FlagPublic:
    flag = get_flag(context, flag_id, cpr_digits=cpr_digits)
    return flag_public(flag, flag_notices(context, flag.id))


@router.post("/flags", status_code=status.HTTP_201_CREATED, response_model=FlagPublic)
def create(body: FlagCreate, principal: CitizenDep, context: ContextDep,
           response: Response) -> FlagPublic:
    """Say what is wrong with a record of one of your packages. The record's open flag,
    if it has one, gets your statement added (200)."""
    flag, created = raise_flag(context, _citizen(principal.subject), principal.cpr.digits,
                               FlagSpec(body.package_id, body.record_id, body.wrong,
                                        body.right, body.field))
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/flags/{flag.id}"
    return _public(context, flag.id, principal.cpr.digits)


@router.get("/flags", response_model=list[FlagPublic])
def list_mine(principal: CitizenDep, context: ContextDep) -> list[FlagPublic]:
    return [flag_public(f, flag_notices(context, f.id))
            for f in list_flags(context, principal.cpr.digits)]


@router.get("/flags/{flag_id}", response_model=FlagPublic)
def read(flag_id: str, principal: CitizenDep, context: ContextDep) -> FlagPublic:
    """A flag with its statements, evidence, the answer and (Art. 19) which services
    were told of a correction."""
    return _public(context, flag_id, principal.cpr.digits)


@router.post("/flags/{flag_id}/withdraw", response_model=FlagPublic)
def withdraw(flag_id: str, principal: CitizenDep, context: ContextDep) -> FlagPublic:
    withdraw_flag(context, _citizen(principal.subject), principal.cpr.digits, flag_id)
    return _public(context, flag_id, principal.cpr.digits)


@router.post("/flags/{flag_id}/evidence", status_code=status.HTTP_201_CREATED,
             response_model=EvidencePublic,
             openapi_extra={"requestBody": {"content": {
                 "application/pdf": {}, "image/jpeg": {}, "image/png": {}}}})
async def add_evidence(flag_id: str, request: Request, principal: CitizenDep,
                       context: ContextDep, filename: Filename = "bilag") -> EvidencePublic:
    """A PDF, JPEG or PNG as the body (checked by its bytes, at most
    ``evidence_max_bytes``), stored encrypted."""
    data = await request.body()
    row = await anyio.to_thread.run_sync(lambda: add_flag_evidence(
        context, _citizen(principal.subject), principal.cpr.digits, flag_id, io.BytesIO(data),
        filename))
    return EvidencePublic(id=row.id, media_type=row.media_type, size=row.size,
                          filename=row.filename, uploaded_at=row.uploaded_at)


def evidence_response(context: ServiceContext, row: Evidence) -> StreamingResponse:
    return StreamingResponse(read_evidence(context, row.blob_key), media_type=row.media_type,
                             headers={"Content-Length": str(row.size),
                                      "Content-Disposition": f'attachment; filename="{row.id}'
                                      f'{row.filename[row.filename.rfind("."):]}"',
                                      "Cache-Control": "no-store"})


def _flag_evidence(context: ServiceContext, flag_id: str, evidence_id: str,
                   cpr_digits: str | None = None) -> Evidence:
    flag = get_flag(context, flag_id, cpr_digits=cpr_digits)
    row = next((e for e in flag.evidence if e.id == evidence_id), None)
    if row is None:
        raise NotFound("no such evidence")
    return row


@router.get("/flags/{flag_id}/evidence/{evidence_id}", response_class=StreamingResponse)
def read_evidence_own(flag_id: str, evidence_id: str, principal: CitizenDep,
                      context: ContextDep) -> StreamingResponse:
    return evidence_response(context, _flag_evidence(context, flag_id, evidence_id,
                                                      principal.cpr.digits))


@router.post("/contributions", status_code=status.HTTP_201_CREATED,
             response_model=ContributionPublic)
def contribute(body: ContributionCreate, principal: CitizenDep,
               context: ContextDep) -> ContributionPublic:
    """Add information of your own; later packages carry it as "Dine bidrag"."""
    row = add_contribution(context, _citizen(principal.subject), principal.cpr.digits,
                           ContributionSpec(body.kind, body.title, body.text, body.about))
    return contribution_public(get_contribution(context, row.id))


@router.get("/contributions", response_model=list[ContributionPublic])
def list_contributed(principal: CitizenDep, context: ContextDep) -> list[ContributionPublic]:
    return [contribution_public(c) for c in list_contributions(context, principal.cpr.digits)]


@router.get("/contributions/{contribution_id}", response_model=ContributionPublic)
def read_contribution(contribution_id: str, principal: CitizenDep,
                      context: ContextDep) -> ContributionPublic:
    return contribution_public(get_contribution(context, contribution_id,
                                                cpr_digits=principal.cpr.digits))


@router.post("/contributions/{contribution_id}/withdraw", response_model=ContributionPublic)
def withdraw_contributed(contribution_id: str, principal: CitizenDep,
                         context: ContextDep) -> ContributionPublic:
    row = withdraw_contribution(context, _citizen(principal.subject), principal.cpr.digits,
                                contribution_id)
    return contribution_public(get_contribution(context, row.id))


@router.post("/contributions/{contribution_id}/documents", status_code=status.HTTP_201_CREATED,
             response_model=EvidencePublic,
             openapi_extra={"requestBody": {"content": {
                 "application/pdf": {}, "image/jpeg": {}, "image/png": {}}}})
async def add_document(contribution_id: str, request: Request, principal: CitizenDep,
                       context: ContextDep, filename: Filename = "dokument") -> EvidencePublic:
    data = await request.body()
    row = await anyio.to_thread.run_sync(lambda: add_contribution_evidence(
        context, _citizen(principal.subject), principal.cpr.digits, contribution_id,
        io.BytesIO(data), filename))
    return EvidencePublic(id=row.id, media_type=row.media_type, size=row.size,
                          filename=row.filename, uploaded_at=row.uploaded_at)


# Caseworkers

def _staff(principal_subject: str, role: str) -> Actor:
    return Actor(principal_subject, role)


def _caseworker_view(context: ServiceContext, flag_id: str) -> FlagCaseworker:
    flag = get_flag(context, flag_id)
    return flag_caseworker(flag, flag_notices(context, flag.id))


def _visible(context: ServiceContext, principal: Principal, flag_id: str) -> str:
    """The flag's id, if the caseworker's units (if limited) hold it; NotFound if not."""
    return in_units(get_flag(context, flag_id), principal.units).id


@router.get("/caseworker/flags", response_model=list[FlagCaseworker], tags=["caseworker"])
def queue(
    _principal: UnitCaseworkerDep, context: ContextDep,
    state: Annotated[list[FlagState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[FlagCaseworker]:
    """Flags by deadline, the earliest first: open ones unless ``state`` says otherwise."""
    flags = flag_queue(context, states=[s.value for s in state] if state else None,
                       units=_principal.units, limit=limit, offset=offset)
    return [flag_caseworker(f, flag_notices(context, f.id)) for f in flags]


@router.get("/caseworker/flags/{flag_id}", response_model=FlagCaseworker, tags=["caseworker"])
def read_any(flag_id: str, principal: UnitCaseworkerDep, context: ContextDep) -> FlagCaseworker:
    flag_id = _visible(context, principal, flag_id)
    with context.sessions.begin() as session:
        audit.record(session, _staff(principal.subject, principal.role.value), "flag.viewed",
                     detail={"flag": flag_id})
    return _caseworker_view(context, flag_id)


@router.post("/caseworker/flags/{flag_id}/take", response_model=FlagCaseworker,
             tags=["caseworker"])
def take(flag_id: str, principal: UnitCaseworkerDep, context: ContextDep) -> FlagCaseworker:
    flag_id = _visible(context, principal, flag_id)
    take_flag(context, _staff(principal.subject, principal.role.value), flag_id)
    return _caseworker_view(context, flag_id)


@router.post("/caseworker/flags/{flag_id}/decide", response_model=FlagCaseworker,
             tags=["caseworker"])
def decide(flag_id: str, body: FlagDecision, principal: UnitCaseworkerDep,
           context: ContextDep) -> FlagCaseworker:
    """Corrected (the source was changed; services that received the record are told),
    annotated (the record stands, with the citizen's statement), or rejected."""
    flag_id = _visible(context, principal, flag_id)
    decide_flag(context, _staff(principal.subject, principal.role.value), flag_id,
                FlagState(body.outcome), body.answer)
    return _caseworker_view(context, flag_id)


@router.post("/caseworker/flags/{flag_id}/extend", response_model=FlagCaseworker,
             tags=["caseworker"])
def extend(flag_id: str, body: FlagExtension, principal: UnitCaseworkerDep,
           context: ContextDep) -> FlagCaseworker:
    flag_id = _visible(context, principal, flag_id)
    extend_flag(context, _staff(principal.subject, principal.role.value), flag_id,
                body.months, body.reason)
    return _caseworker_view(context, flag_id)


@router.get("/caseworker/flags/{flag_id}/evidence/{evidence_id}",
            response_class=StreamingResponse, tags=["caseworker"])
def read_evidence_any(flag_id: str, evidence_id: str, principal: UnitCaseworkerDep,
                      context: ContextDep) -> StreamingResponse:
    """A file the citizen gave as evidence (audited)."""
    row = _flag_evidence(context, _visible(context, principal, flag_id), evidence_id)
    with context.sessions.begin() as session:
        audit.record(session, _staff(principal.subject, principal.role.value),
                     "evidence.read", detail={"flag": flag_id, "evidence": row.id})
    return evidence_response(context, row)


@router.get("/caseworker/contributions", response_model=list[ContributionPublic],
            tags=["caseworker"])
def new_contributions(_principal: CaseworkerDep, context: ContextDep
                      ) -> list[ContributionPublic]:
    """Contributions no caseworker has seen yet, the oldest first."""
    return [contribution_public(c) for c in unseen_contributions(context)]


@router.post("/caseworker/contributions/{contribution_id}/seen",
             response_model=ContributionPublic, tags=["caseworker"])
def seen(contribution_id: str, principal: CaseworkerDep,
         context: ContextDep) -> ContributionPublic:
    row = mark_seen(context, _staff(principal.subject, principal.role.value), contribution_id)
    return contribution_public(get_contribution(context, row.id))
