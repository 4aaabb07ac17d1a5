"""What citizens add of their own, for caseworkers to see (GDPR's "complete" as well as
"correct": the citizen's own statements, corrections of their account, documents).

- ``GET /konsol/bidrag``: contributions no caseworker has seen yet, the oldest first;
- ``GET /konsol/bidrag/{id}/bilag/{evidence}``: a document given with one (audited);
- ``POST /konsol/bidrag/{id}/set``: mark it seen (audited).

Contributions belong to no unit: a caseworker limited to units has none.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from exporter.db.models import Contribution
from exporter.flags import get_contribution, mark_seen, unseen_contributions
from exporter.web.console.deps import StaffDep, StaffFormDep, StaffPage
from exporter.web.console.flags import send_evidence

router = APIRouter(tags=["pages"])


def _contribution(page: StaffPage, contribution_id: str) -> Contribution:
    page.require_every_unit()
    return get_contribution(page.context, contribution_id[:36])


@router.get("/konsol/bidrag", response_class=HTMLResponse)
def contributions(page: StaffDep) -> HTMLResponse:
    page.require_every_unit()
    return page.render("console/contributions.html.j2",
                       rows=unseen_contributions(page.context))


@router.get("/konsol/bidrag/{contribution_id}/bilag/{evidence_id}",
            response_class=StreamingResponse)
def document(page: StaffDep, contribution_id: str, evidence_id: str) -> StreamingResponse:
    row = _contribution(page, contribution_id)
    return send_evidence(page, row.evidence, evidence_id, contribution=row.id)


@router.post("/konsol/bidrag/{contribution_id}/set")
def seen(page: StaffDep, form: StaffFormDep, contribution_id: str) -> Response:
    row = _contribution(page, contribution_id)
    mark_seen(page.context, page.actor, row.id)
    return page.redirect("/konsol/bidrag")
