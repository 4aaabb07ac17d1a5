"""Sharing with external services, under the citizen's consent (or a representative's
mandate with the ``push`` right).

- ``GET /del``: the registered services, my consents and my deliveries;
- ``GET /del/{service}`` → ``POST /del/{service}/tjek`` → ``POST /del/{service}``: a
  consent naming the datasets, the purpose and how long; then its confirmation with
  the signed receipt (``/samtykker/{id}``, ``kvittering.jsonld`` and ``.minisig``);
- ``POST /samtykker/{id}/tilbagekald``: revoke;
- ``POST /anmodninger/{id}/send``: push a ready package to a service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.db.models import ExternalService
from exporter.delivery.consents import (
    ConsentSpec,
    NotAllowed,
    get_consent,
    give_consent,
    list_consents,
    revoke_consent,
)
from exporter.delivery.deliveries import create_delivery, list_deliveries, request_datasets
from exporter.delivery.registry import ACTIVE, get_service, list_services
from exporter.service.requests import get_request, list_requests
from exporter.web.deps import CitizenDep, CitizenPage, Form, FormDep
from exporter.web.portal.views import (
    consent_view,
    dataset_choices,
    delivery_view,
    request_view,
)

router = APIRouter(tags=["pages"])

DURATIONS = {"once": None, "3m": 91, "12m": 365}
"""How long a consent lasts: once (for one delivery), or a number of days."""


def _own(page: CitizenPage) -> None:
    """Consents are the citizen's own: a representative pushes under the mandate."""
    if page.acting.representative is not None:
        raise NotAllowed("consents are given by the citizen themselves")


def _services(page: CitizenPage) -> dict[str, ExternalService]:
    return {s.id: s for s in list_services(page.context)}


@router.get("/del", response_class=HTMLResponse)
def sharing(page: CitizenDep, sendt: str = "") -> HTMLResponse:
    """Services I can share with, my consents, and what has been sent."""
    page.acting.authorise(page.context, "push")
    services = _services(page)
    today = page.today
    consents = [] if page.acting.representative else [
        consent_view(c, services[c.service_id].name if c.service_id in services else "",
                     page.context.profile, today)
        for c in list_consents(page.context, page.acting.cpr)]
    # A representative sees only what the mandate's datasets cover.
    covered = [r for r in list_requests(page.context, page.acting.cpr, limit=20)
               if page.covers_request(r)]
    shown = {r.id for r in covered}
    deliveries = [delivery_view(d, services[d.service_id].name if d.service_id in services
                                else "")
                  for d in list_deliveries(page.context, cpr_digits=page.acting.cpr)
                  if page.acting.datasets is None or d.request_id in shown]
    ready = [request_view(r, page.context.profile, today) for r in covered]
    return page.render("portal/sharing.html.j2", services=list(services.values()),
                       consents=consents, deliveries=deliveries,
                       ready=[r for r in ready if r.ready], sent=sendt)


@dataclass
class ConsentForm:
    datasets: list[str]
    purpose: str
    duration: str
    errors: dict[str, str] = field(default_factory=dict)

    def valid_until(self, today: date) -> date | None:
        days = DURATIONS.get(self.duration)
        return today + timedelta(days=days) if days else None


def _consent_form(page: CitizenPage, form: Form) -> ConsentForm:
    known = [c.id for c in dataset_choices(page.context.profile)]
    asked = form.texts("datasets")
    chosen = [d for d in known if d in set(asked)]
    values = ConsentForm(chosen, form.text("purpose", 500), form.text("duration", 10))
    if not chosen or set(asked) - set(known):
        values.errors["datasets"] = "datasets"
    if len(values.purpose) < 3:
        values.errors["purpose"] = "purpose"
    if values.duration not in DURATIONS:
        values.errors["duration"] = "duration"
    return values


def _service(page: CitizenPage, service_id: str) -> ExternalService:
    service = get_service(page.context, service_id[:36])
    if service.state != ACTIVE:
        raise NotAllowed("the service is suspended")
    return service


@router.get("/del/{service_id}", response_class=HTMLResponse)
def consent_form(page: CitizenDep, service_id: str) -> HTMLResponse:
    """What the service will get, for what, and for how long."""
    _own(page)
    service = _service(page, service_id)
    choices = dataset_choices(page.context.profile)
    values = ConsentForm([c.id for c in choices], "", "once")
    return page.render("portal/consent_form.html.j2", service=service, form=values,
                       choices=choices)


@router.post("/del/{service_id}/tjek", response_class=HTMLResponse)
def check_consent(page: CitizenDep, form: FormDep, service_id: str) -> HTMLResponse:
    _own(page)
    service = _service(page, service_id)
    values = _consent_form(page, form)
    choices = dataset_choices(page.context.profile)
    template = "portal/consent_form.html.j2" if values.errors else "portal/consent_check.html.j2"
    return page.render(template, status=400 if values.errors else 200, service=service,
                       form=values, choices=choices,
                       valid_until=values.valid_until(page.today))


@router.post("/del/{service_id}")
def give(page: CitizenDep, form: FormDep, service_id: str) -> Response:
    _own(page)
    service = _service(page, service_id)
    values = _consent_form(page, form)
    if values.errors:
        return page.render("portal/consent_form.html.j2", status=400, service=service,
                           form=values, choices=dataset_choices(page.context.profile))
    spec = ConsentSpec(service_id=service.id, purpose=values.purpose,
                       datasets=tuple(values.datasets),
                       valid_until=values.valid_until(page.today),
                       single_use=values.duration == "once")
    consent = give_consent(page.context, page.acting.actor, page.acting.cpr, spec)
    return page.redirect(f"/samtykker/{consent.id}?ny=1")


@router.get("/samtykker/{consent_id}", response_class=HTMLResponse)
def consent(page: CitizenDep, consent_id: str, ny: str = "") -> HTMLResponse:
    """A consent: its confirmation and receipt, and packages to send under it."""
    _own(page)
    row = get_consent(page.context, page.acting.cpr, consent_id[:36])
    service = get_service(page.context, row.service_id)
    today = page.today
    view = consent_view(row, service.name, page.context.profile, today)
    ready = [request_view(r, page.context.profile, today)
             for r in list_requests(page.context, page.acting.cpr, limit=20)]
    return page.render("portal/consent.html.j2", cv=view, service=service,
                       confirmation=ny == "1", ready=[r for r in ready if r.ready])


@router.get("/samtykker/{consent_id}/kvittering.jsonld")
def receipt(page: CitizenDep, consent_id: str) -> Response:
    _own(page)
    row = get_consent(page.context, page.acting.cpr, consent_id[:36])
    return Response(row.receipt, media_type="application/ld+json", headers={
        "Content-Disposition": f'attachment; filename="samtykke-{row.id[:8]}.jsonld"',
        "Cache-Control": "no-store"})


@router.get("/samtykker/{consent_id}/kvittering.jsonld.minisig")
def receipt_signature(page: CitizenDep, consent_id: str) -> Response:
    _own(page)
    row = get_consent(page.context, page.acting.cpr, consent_id[:36])
    return Response(row.receipt_signature, media_type="text/plain", headers={
        "Content-Disposition":
            f'attachment; filename="samtykke-{row.id[:8]}.jsonld.minisig"',
        "Cache-Control": "no-store"})


@router.post("/samtykker/{consent_id}/tilbagekald")
def revoke(page: CitizenDep, form: FormDep, consent_id: str) -> Response:
    _own(page)
    revoke_consent(page.context, page.acting.actor, page.acting.cpr, consent_id[:36])
    return page.redirect(f"/samtykker/{consent_id[:36]}")


@router.post("/anmodninger/{request_id}/send")
def push(page: CitizenDep, form: FormDep, request_id: str) -> Response:
    """Send a ready package to a service: under the citizen's consent, or the
    representative's mandate."""
    service_id = form.text("service", 36)
    row = get_request(page.context, request_id, cpr_digits=page.acting.cpr)
    mandate = page.acting.authorise(page.context, "push",
                                    datasets=request_datasets(page.context, row),
                                    service_id=service_id)
    delivery, _created = create_delivery(page.context, page.acting.actor, page.acting.cpr,
                                         row.id, service_id, mandate=mandate)
    return page.redirect(f"/del?sendt={delivery.id}#leveringer")
