"""Flags in the console: the caseworker's side of "acting on your data".

- ``GET /konsol/indsigelser/{id}``: the record as the package showed it, the citizen's
  statements and evidence, which services received the record, the deadline;
- ``POST /konsol/indsigelser/{id}/tag``: take it into review;
- ``POST /konsol/indsigelser/{id}/afgoer``: decide corrected, annotated or rejected
  with an answer: first a preview of what the citizen will see (``step=preview``), then
  the decision (``step=confirm``);
- ``POST /konsol/indsigelser/{id}/forlaeng``: extend the deadline with a reason;
- ``GET /konsol/indsigelser/{id}/bilag/{evidence}``: a file the citizen gave (audited).

A caseworker limited to units sees only the flags on their units' records.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from exporter.api.routes.flags import evidence_response
from exporter.cpr import Cpr
from exporter.db.models import Evidence, Flag
from exporter.flags import (
    COMPLAINT,
    DECISIONS,
    OPEN,
    FlagState,
    InvalidFlag,
    decide_flag,
    extend_flag,
    flag_notices,
    get_flag,
    in_units,
    record_recipients,
    take_flag,
)
from exporter.flags.records import for_staff
from exporter.service import audit
from exporter.service.requests import NotFound
from exporter.web.console.deps import (
    MIN_REASON,
    StaffDep,
    StaffFormDep,
    StaffPage,
    extension,
)
from exporter.web.portal.flags import shown_fields

router = APIRouter(tags=["pages"])

OUTCOMES = tuple(sorted(s.value for s in DECISIONS))


def _flag(page: StaffPage, flag_id: str) -> Flag:
    page.require("caseworker")
    return in_units(get_flag(page.context, flag_id[:36]), page.units)


def _show(page: StaffPage, row: Flag, *, status: int = 200,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          preview: dict[str, str] | None = None) -> HTMLResponse:
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "flag.viewed", detail={"flag": row.id})
    type_name = row.record.get("type")
    return page.render(
        "console/flag.html.j2", status=status, f=row,
        masked=Cpr(row.subject_cpr).masked,
        fields=shown_fields(for_staff(row.record), type_name),
        recipients=record_recipients(page.context, row),
        notices=flag_notices(page.context, row.id), open=FlagState(row.state) in OPEN,
        overdue=row.effective_deadline < page.today, outcomes=OUTCOMES,
        complaint=COMPLAINT, errors=errors or {}, values=values or {}, preview=preview)


@router.get("/konsol/indsigelser/{flag_id}", response_class=HTMLResponse)
def show(page: StaffDep, flag_id: str) -> HTMLResponse:
    return _show(page, _flag(page, flag_id))


@router.post("/konsol/indsigelser/{flag_id}/tag")
def take(page: StaffDep, form: StaffFormDep, flag_id: str) -> Response:
    row = _flag(page, flag_id)
    take_flag(page.context, page.actor, row.id)
    return page.redirect(f"/konsol/indsigelser/{row.id}")


@router.post("/konsol/indsigelser/{flag_id}/afgoer")
def decide(page: StaffDep, form: StaffFormDep, flag_id: str) -> Response:
    """Preview the answer as the citizen will see it, then decide."""
    row = _flag(page, flag_id)
    outcome, answer = form.text("outcome", 20), form.text("answer", 4000)
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "outcome"
    if len(answer) < MIN_REASON:
        errors["answer"] = "answer"
    values = {"outcome": outcome, "answer": answer}
    if errors:
        return _show(page, row, status=400, errors=errors, values=values)
    if form.text("step", 10) != "confirm":
        return _show(page, row, values=values, preview=values)
    try:
        decide_flag(page.context, page.actor, row.id, FlagState(outcome), answer)
    except InvalidFlag:
        return _show(page, row, status=400, errors={"answer": "answer"}, values=values)
    return page.redirect(f"/konsol/indsigelser/{row.id}")


@router.post("/konsol/indsigelser/{flag_id}/forlaeng")
def extend(page: StaffDep, form: StaffFormDep, flag_id: str) -> Response:
    row = _flag(page, flag_id)
    months, reason, errors = extension(form)
    if errors:
        return _show(page, row, status=400, errors=errors, values={"reason": reason})
    extend_flag(page.context, page.actor, row.id, months, reason)
    return page.redirect(f"/konsol/indsigelser/{row.id}")


@router.get("/konsol/indsigelser/{flag_id}/bilag/{evidence_id}",
            response_class=StreamingResponse)
def evidence(page: StaffDep, flag_id: str, evidence_id: str) -> StreamingResponse:
    row = _flag(page, flag_id)
    return send_evidence(page, row.evidence, evidence_id, flag=row.id)


def send_evidence(page: StaffPage, files: Sequence[Evidence], evidence_id: str,
                  **about: str) -> StreamingResponse:
    """One of ``files`` (a flag's or a contribution's), decrypted as it is sent; the
    reading is audited with ``about`` (what it belongs to)."""
    found = next((e for e in files if e.id == evidence_id), None)
    if found is None:
        raise NotFound("no such file")
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "evidence.read", detail={**about, "evidence": found.id})
    return evidence_response(page.context, found)
