"""Access requests in the console.

- ``GET /konsol/anmodninger/{id}``: who asked and how, the scope, each source's state,
  attempts and error class (never a source's own error text), gaps; the citizen's CPR
  number in full, which is audited (``request.viewed``);
- ``POST /konsol/anmodninger/{id}/kilder/{source}/igen``: collect a failed source again;
- ``POST /konsol/anmodninger/{id}/forlaeng``: extend the deadline with a reason the
  citizen sees;
- ``POST /konsol/anmodninger/{id}/annuller``: cancel with a reason;
- ``GET /konsol/anmodninger/ny`` → ``POST /konsol/anmodninger``: register a request for
  a citizen who asked by phone, letter, e-mail or at the desk.

Requests cover all of a citizen's data, so a caseworker limited to units has none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.cpr import Cpr
from exporter.db.models import Request as RequestRow
from exporter.errors import InvalidCprError
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.requests import (
    NotFound,
    Scope,
    UnknownDataset,
    cancel_request,
    extend_deadline,
    new_request,
    retry_source,
)
from exporter.web.console.deps import (
    MIN_REASON,
    StaffDep,
    StaffFormDep,
    StaffPage,
    extension,
)
from exporter.web.portal.views import dataset_choices, request_view

router = APIRouter(tags=["pages"])

CHANNELS = ("phone", "letter", "email", "desk")


def _row(page: StaffPage, request_id: str) -> RequestRow:
    page.require_every_unit()
    with page.context.sessions() as session:
        row = session.get(RequestRow, request_id) if is_id(request_id) else None
    if row is None:
        raise NotFound("no such request")
    return row


def _show(page: StaffPage, row: RequestRow, *, status: int = 200,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          created: bool = False) -> HTMLResponse:
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "request.viewed", request_id=row.id, detail={})
    today = page.today
    return page.render("console/request.html.j2", status=status, r=request_view(
        row, page.context.profile, today), row=row, cpr=str(Cpr(row.subject_cpr)),
        errors=errors or {}, values=values or {}, created=created)


@router.get("/konsol/anmodninger/ny", response_class=HTMLResponse)
def register_form(page: StaffDep) -> HTMLResponse:
    page.require_every_unit()
    return _register_page(page, RegisterForm())


@dataclass
class RegisterForm:
    cpr: str = ""
    channel: str = ""
    note: str = ""
    datasets: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _register_page(page: StaffPage, form: RegisterForm, *, status: int = 200) -> HTMLResponse:
    return page.render("console/register.html.j2", status=status, form=form,
                       channels=CHANNELS, choices=dataset_choices(page.context.profile),
                       key=str(uuid.uuid4()))


@router.post("/konsol/anmodninger")
async def register(page: StaffDep, form: StaffFormDep) -> Response:
    """Register the request; the CPR number is checked (format and check rules)."""
    await anyio.to_thread.run_sync(page.require_every_unit)
    values = RegisterForm(form.text("cpr", 20), form.text("channel", 20),
                          form.text("note", 2000), form.texts("datasets"))
    cpr: Cpr | None = None
    try:
        cpr = Cpr.parse(values.cpr)
    except InvalidCprError:
        values.errors["cpr"] = "cpr"
    if values.channel not in CHANNELS:
        values.errors["channel"] = "channel"
    if len(values.note) < MIN_REASON:
        values.errors["note"] = "note"
    known = {c.id for c in dataset_choices(page.context.profile)}
    if any(d not in known for d in values.datasets):
        values.errors["datasets"] = "datasets"
    if values.errors or cpr is None:
        values.cpr = ""  # a CPR number typed is never shown back
        return _register_page(page, values, status=400)
    key = form.text("key", 36)
    try:
        new = new_request(page.context, page.actor, cpr,
                          Scope(tuple(values.datasets) if values.datasets else None),
                          idempotency_key=key if is_id(key) else None,
                          channel=values.channel, channel_note=values.note)
    except UnknownDataset:
        values.errors["datasets"] = "datasets"
        values.cpr = ""
        return _register_page(page, values, status=400)
    row, _ = await page.context.intake.create(new)
    return page.redirect(f"/konsol/anmodninger/{row.id}?ny=1")


@router.get("/konsol/anmodninger/{request_id}", response_class=HTMLResponse)
def show(page: StaffDep, request_id: str, ny: str = "") -> HTMLResponse:
    return _show(page, _row(page, request_id), created=ny == "1")


@router.post("/konsol/anmodninger/{request_id}/kilder/{source_id}/igen")
def retry(page: StaffDep, form: StaffFormDep, request_id: str, source_id: str) -> Response:
    row = _row(page, request_id)
    retry_source(page.context, page.actor, row.id, source_id[:40])
    return page.redirect(f"/konsol/anmodninger/{row.id}")


@router.post("/konsol/anmodninger/{request_id}/forlaeng")
def extend(page: StaffDep, form: StaffFormDep, request_id: str) -> Response:
    row = _row(page, request_id)
    months, reason, errors = extension(form)
    if errors:
        return _show(page, row, status=400, errors=errors, values={"reason": reason})
    extend_deadline(page.context, page.actor, row.id, months, reason)
    return page.redirect(f"/konsol/anmodninger/{row.id}")


@router.post("/konsol/anmodninger/{request_id}/annuller")
def cancel(page: StaffDep, form: StaffFormDep, request_id: str) -> Response:
    row = _row(page, request_id)
    reason = form.text("cancel_reason", 2000)
    if len(reason) < MIN_REASON:
        return _show(page, row, status=400, errors={"cancel_reason": "reason"},
                     values={"cancel_reason": reason})
    cancel_request(page.context, page.actor, row.id, reason=reason)
    return page.redirect(f"/konsol/anmodninger/{row.id}")
