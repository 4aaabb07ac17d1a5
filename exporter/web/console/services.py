"""The registry of external services, for the data-protection officer.

- ``GET /konsol/tjenester``: every service, its key, channel and state;
- ``GET /konsol/tjenester/ny`` → ``POST /konsol/tjenester``: register one;
- ``POST /konsol/tjenester/{id}/suspender``, ``.../genoptag``: suspend (pushes to it are
  refused from then on) and resume. Each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from exporter.delivery.registry import (
    ACTIVE,
    SUSPENDED,
    InvalidService,
    ServiceSpec,
    list_services,
    register_service,
    set_service_state,
)
from exporter.service.requests import Conflict
from exporter.web.console.deps import StaffDep, StaffFormDep, StaffPage
from formats import age

router = APIRouter(tags=["pages"])


@router.get("/konsol/tjenester", response_class=HTMLResponse)
def services(page: StaffDep, ny: str = "") -> HTMLResponse:
    page.require("dpo")
    return page.render("console/services.html.j2", services=list_services(page.context),
                       created=ny == "1", active=ACTIVE)


@dataclass
class ServiceForm:
    name: str = ""
    description: str = ""
    homepage: str = ""
    privacy_policy: str = ""
    age_recipient: str = ""
    target: str = "webhook"
    webhook_url: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_credentials_env: str = ""
    errors: dict[str, str] = field(default_factory=dict)


_FIELDS = ("name", "description", "homepage", "privacy_policy", "age_recipient", "target",
           "webhook_url", "s3_bucket", "s3_prefix", "s3_endpoint_url", "s3_region",
           "s3_credentials_env")


def _form_page(page: StaffPage, form: ServiceForm, status: int = 200) -> HTMLResponse:
    return page.render("console/service_form.html.j2", status=status, form=form)


@router.get("/konsol/tjenester/ny", response_class=HTMLResponse)
def service_form(page: StaffDep) -> HTMLResponse:
    page.require("dpo")
    return _form_page(page, ServiceForm())


def _url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= 500


def _check(form: ServiceForm) -> None:
    errors = form.errors
    if not form.name:
        errors["name"] = "name"
    if not form.description:
        errors["description"] = "description"
    for name in ("homepage", "privacy_policy"):
        if not _url(getattr(form, name)):
            errors[name] = "url"
    try:
        age.X25519Recipient.parse(form.age_recipient)
    except ValueError:
        errors["age_recipient"] = "key"
    if form.target == "webhook":
        if not _url(form.webhook_url):
            errors["webhook_url"] = "url"
    elif form.target == "s3":
        if not form.s3_bucket:
            errors["s3_bucket"] = "bucket"
        if form.s3_endpoint_url and not _url(form.s3_endpoint_url):
            errors["s3_endpoint_url"] = "url"
    else:
        errors["target"] = "target"


@router.post("/konsol/tjenester")
def register(page: StaffDep, form: StaffFormDep) -> Response:
    page.require("dpo")
    values = ServiceForm()
    for name in _FIELDS:
        setattr(values, name, form.text(name, 1000))
    _check(values)
    if values.errors:
        return _form_page(page, values, 400)
    webhook = values.target == "webhook"
    spec = ServiceSpec(
        name=values.name[:200], description=values.description,
        homepage=values.homepage, privacy_policy=values.privacy_policy,
        age_recipient=values.age_recipient, webhook_url=values.webhook_url if webhook else None,
        s3_bucket=None if webhook else values.s3_bucket, s3_prefix=values.s3_prefix,
        s3_endpoint_url=None if webhook else values.s3_endpoint_url or None,
        s3_region=None if webhook else values.s3_region or None,
        s3_credentials_env=None if webhook else values.s3_credentials_env or None)
    try:
        register_service(page.context, page.actor, spec)
    except Conflict:
        values.errors["name"] = "exists"
        return _form_page(page, values, 400)
    except InvalidService:
        values.errors["target"] = "invalid"
        return _form_page(page, values, 400)
    return page.redirect("/konsol/tjenester?ny=1")


@router.post("/konsol/tjenester/{service_id}/suspender")
def suspend(page: StaffDep, form: StaffFormDep, service_id: str) -> Response:
    page.require("dpo")
    set_service_state(page.context, page.actor, service_id[:36], SUSPENDED)
    return page.redirect("/konsol/tjenester")


@router.post("/konsol/tjenester/{service_id}/genoptag")
def resume(page: StaffDep, form: StaffFormDep, service_id: str) -> Response:
    page.require("dpo")
    set_service_state(page.context, page.actor, service_id[:36], ACTIVE)
    return page.redirect("/konsol/tjenester")
