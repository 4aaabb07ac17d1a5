"""Mine data: the overview, asking for a package, and following the request.

- ``GET /mine-data``: what the municipality holds (a dry run of the sources, cached);
- ``GET /bestil`` → ``POST /bestil/tjek`` (check your answers) → ``POST /bestil``: a
  request, made once however often the button is pressed (an idempotency key in the
  form), then its receipt with the deadline;
- ``GET /anmodninger``: my requests and packages, and what others did for me;
- ``GET /anmodninger/{id}``: each source's progress and any gap; the page's script
  follows ``/anmodninger/{id}/fremdrift`` (which does not count as activity);
- ``POST /anmodninger/{id}/annuller``: cancel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.cpr import Cpr
from exporter.service.overview import get_overview
from exporter.service.requests import (
    Scope,
    UnknownDataset,
    cancel_request,
    list_requests,
    new_request,
)
from exporter.web.deps import PASSIVE, CitizenDep, CitizenPage, Form, FormDep
from exporter.web.portal.views import acted_for_me, dataset_choices, request_view

router = APIRouter(tags=["pages"])
_EARLIEST = date(1900, 1, 1)


@router.get("/mine-data", response_class=HTMLResponse)
def overview(page: CitizenDep) -> HTMLResponse:
    """Before any package: each dataset with its source, record count and period, and
    whom to contact about each case."""
    page.acting.authorise(page.context, "request")
    found = get_overview(page.context, Cpr(page.acting.cpr))
    counts = {d.id: d for d in found.datasets}
    choices = dataset_choices(page.context.profile)
    rows = [(c, counts.get(c.id)) for c in choices if page.covered(c.id)]
    # Whom to contact comes from the cases and the units: shown when both are covered.
    contacts = found.contacts if all(page.covered(c.id) for c in choices
                                     if c.record_type in ("Case", "OrganisationUnit")) else ()
    latest = [r for r in list_requests(page.context, page.acting.cpr, limit=3, related=False)
              if page.covers_request(r)]
    return page.render("portal/overview.html.j2", rows=rows, contacts=contacts,
                       made_at=found.made_at, latest=latest)


@dataclass
class RequestForm:
    """The request form's values, as typed, and what is wrong with them."""

    datasets: list[str]
    period_from: str = ""
    period_to: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def scope(self) -> Scope:
        return Scope(tuple(self.datasets), _day(self.period_from), _day(self.period_to))

    def query(self) -> str:
        """The values as a query, for the "change" links of the check page."""
        return urlencode([("datasets", d) for d in self.datasets]
                         + [("fra", self.period_from), ("til", self.period_to)])


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _check_day(text: str) -> bool:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return False
    return _EARLIEST <= day <= date(2100, 12, 31) and len(text) == 10


def read_request_form(page: CitizenPage, datasets: list[str], period_from: str,
                      period_to: str) -> RequestForm:
    known = [c.id for c in dataset_choices(page.context.profile)]
    chosen = [d for d in known if d in set(datasets)]
    result = RequestForm(chosen, period_from.strip()[:10], period_to.strip()[:10])
    if not chosen or len(set(datasets) - set(known)):
        result.errors["datasets"] = "datasets"
    for name, value in (("period_from", result.period_from), ("period_to", result.period_to)):
        if value and not _check_day(value):
            result.errors[name] = "date"
    if not result.errors and result.period_from and result.period_to \
            and result.period_from > result.period_to:
        result.errors["period_to"] = "order"
    return result


def _form_of(form: Form, page: CitizenPage) -> RequestForm:
    return read_request_form(page, form.texts("datasets"), form.text("fra"), form.text("til"))


@router.get("/bestil", response_class=HTMLResponse)
def request_form(page: CitizenDep, fra: str = "", til: str = "") -> HTMLResponse:
    """Choose the datasets and the period."""
    page.acting.authorise(page.context, "request")
    asked = page.request.query_params.getlist("datasets")
    choices = dataset_choices(page.context.profile)
    values = RequestForm(asked or [c.id for c in choices], fra[:10], til[:10])
    return page.render("portal/request_form.html.j2", form=values, choices=choices)


@router.post("/bestil/tjek", response_class=HTMLResponse)
def check_request(page: CitizenDep, form: FormDep) -> HTMLResponse:
    """Check your answers before sending."""
    page.acting.authorise(page.context, "request")
    values = _form_of(form, page)
    choices = dataset_choices(page.context.profile)
    if values.errors:
        return page.render("portal/request_form.html.j2", status=400, form=values,
                           choices=choices)
    return page.render("portal/request_check.html.j2", form=values, choices=choices,
                       key=str(uuid.uuid4()))


@router.post("/bestil")
async def send_request(page: CitizenDep, form: FormDep) -> Response:
    """Send the request; the same form sent twice makes one request."""
    values = _form_of(form, page)
    key = form.text("key", 100)
    if values.errors or not key:
        choices = dataset_choices(page.context.profile)
        return page.render("portal/request_form.html.j2", status=400, form=values,
                           choices=choices)
    scope = values.scope()
    await anyio.to_thread.run_sync(lambda: page.acting.authorise(
        page.context, "request", datasets=scope.datasets or ()))
    try:
        new = new_request(page.context, page.acting.actor, Cpr(page.acting.cpr), scope,
                          idempotency_key=f"portal:{key}",
                          assurance_level=page.me.assurance_level)
    except UnknownDataset:
        values.errors["datasets"] = "datasets"
        return page.render("portal/request_form.html.j2", status=400, form=values,
                           choices=dataset_choices(page.context.profile))
    row, _created = await page.context.intake.create(new)
    return page.redirect(f"/anmodninger/{row.id}?ny=1")


@router.get("/anmodninger", response_class=HTMLResponse)
def history(page: CitizenDep) -> HTMLResponse:
    """My requests and packages with their expiry dates; what others did for me."""
    page.acting.authorise(page.context, "request")
    today = page.today
    rows = [request_view(r, page.context.profile, today)
            for r in list_requests(page.context, page.acting.cpr) if page.covers_request(r)]
    others = acted_for_me(page.context, page.acting.cpr) \
        if page.acting.representative is None else []
    return page.render("portal/history.html.j2", requests=rows, others=others)


@router.get("/anmodninger/{request_id}", response_class=HTMLResponse)
def status(page: CitizenDep, request_id: str, ny: str = "") -> HTMLResponse:
    """A request's progress, source by source; its receipt just after sending."""
    row = page.readable_request(request_id)
    view = request_view(row, page.context.profile, page.today)
    return page.render("portal/status.html.j2", r=view, receipt=ny == "1")


@router.get("/anmodninger/{request_id}/fremdrift", response_class=HTMLResponse,
            tags=[PASSIVE])
def progress(page: CitizenDep, request_id: str) -> HTMLResponse:
    """The progress part of the status page alone, for its script to swap in."""
    row = page.readable_request(request_id)
    view = request_view(row, page.context.profile, page.today)
    return page.render("portal/_progress.html.j2", r=view)


@router.post("/anmodninger/{request_id}/annuller")
def cancel(page: CitizenDep, form: FormDep, request_id: str) -> Response:
    page.readable_request(request_id)
    cancel_request(page.context, page.acting.actor, request_id)
    return page.redirect(f"/anmodninger/{request_id}")
