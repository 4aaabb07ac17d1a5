"""A citizen's own access requests and packages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import StreamingResponse

from exporter.api.deps import CitizenDep, ContextDep
from exporter.api.metrics import DOWNLOADS, REQUESTS_CREATED
from exporter.api.problems import Problem
from exporter.api.schemas import PassphraseDownload, RequestCreate, RequestPublic, to_public
from exporter.db.models import Request as RequestRow
from exporter.delivery.download import age_download, zip_download
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import (
    Scope,
    cancel_request,
    get_request,
    list_requests,
    new_request,
)

router = APIRouter(prefix="/v1/requests", tags=["citizen"])
BASE = "/v1/requests"

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")
]


def _actor(subject: str) -> Actor:
    return Actor(subject, "citizen")


def scope_of(body: RequestCreate) -> Scope:
    return Scope(
        datasets=tuple(body.datasets) if body.datasets is not None else None,
        period_from=body.period.start if body.period else None,
        period_to=body.period.end if body.period else None,
    )


def own_request(context: ServiceContext, request_id: str, cpr_digits: str) -> RequestRow:
    return get_request(context, request_id, cpr_digits=cpr_digits)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestPublic)
async def create(
    body: RequestCreate, principal: CitizenDep, context: ContextDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RequestPublic:
    """Ask for a package of your own data. Repeat with the same Idempotency-Key safely."""
    row, created = await context.intake.create(new_request(
        context, _actor(principal.subject), principal.cpr, scope_of(body),
        idempotency_key=idempotency_key, assurance_level=principal.assurance_level))
    if created:
        REQUESTS_CREATED.labels(role="citizen").inc()
    else:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"{BASE}/{row.id}"
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.get("", response_model=list[RequestPublic])
def list_mine(principal: CitizenDep, context: ContextDep) -> list[RequestPublic]:
    """Your requests, newest first."""
    rows = list_requests(context, principal.cpr.digits)
    today = datetime.now(UTC).date()
    return [to_public(r, context.profile, base=BASE, today=today) for r in rows]


@router.get("/{request_id}", response_model=RequestPublic)
def read(request_id: str, principal: CitizenDep, context: ContextDep) -> RequestPublic:
    """One of your requests, with each source's progress."""
    row = own_request(context, request_id, principal.cpr.digits)
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.post("/{request_id}/cancel", response_model=RequestPublic)
def cancel(request_id: str, principal: CitizenDep, context: ContextDep) -> RequestPublic:
    own_request(context, request_id, principal.cpr.digits)
    cancel_request(context, _actor(principal.subject), request_id)
    row = own_request(context, request_id, principal.cpr.digits)
    return to_public(row, context.profile, base=BASE, today=datetime.now(UTC).date())


@router.get("/{request_id}/package", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}}, 206: {}, 416: {}})
def download_zip(
    request_id: str, principal: CitizenDep, context: ContextDep, request: Request
) -> StreamingResponse:
    """Your package as a ZIP, decrypted as it is sent. HTTP Range is supported."""
    row = own_request(context, request_id, principal.cpr.digits)
    download = zip_download(context, _actor(principal.subject), row,
                            request.headers.get("range"))
    if download.status == 416:
        raise Problem(416, "the range is outside the file", headers=download.headers)
    DOWNLOADS.labels(format="zip").inc()
    return StreamingResponse(download.body, status_code=download.status,
                             media_type="application/zip", headers=download.headers)


@router.post("/{request_id}/package.age", response_class=StreamingResponse,
             responses={200: {"content": {"application/octet-stream": {}}}})
def download_age(
    request_id: str, body: PassphraseDownload, principal: CitizenDep, context: ContextDep
) -> StreamingResponse:
    """Your package as an age file that opens with the passphrase you give here
    (``age -d``). Only the file's header is made anew; nothing is stored."""
    row = own_request(context, request_id, principal.cpr.digits)
    download = age_download(context, _actor(principal.subject), row, body.passphrase)
    DOWNLOADS.labels(format="age").inc()
    return StreamingResponse(download.body, media_type="application/octet-stream",
                             headers=download.headers)
