"""What the citizen's pages show, built from the service's rows: one function per kind
of thing shown. Texts from sources stay as data (the templates escape and shorten
them); labels come from the page texts by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from exporter.db.models import AuditEvent, Consent, Delivery, Mandate, Package, Request
from exporter.delivery.receipts import consent_status
from exporter.pipeline.collect import GAP_REASONS
from exporter.profile import DatasetSettings, Profile
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import ACTIVE, RequestState

__all__ = [
    "ConsentView",
    "DatasetChoice",
    "DeliveryView",
    "HistoryEvent",
    "RequestView",
    "acted_for_me",
    "consent_view",
    "dataset_choices",
    "delivery_view",
    "request_view",
]

_SHOWN_ACTIONS = {
    "request.received", "request.cancelled", "package.downloaded", "delivery.created",
    "consent.given", "consent.revoked", "push.refused", "request.refused",
}


@dataclass(frozen=True)
class DatasetChoice:
    id: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    source: Mapping[str, str]
    record_type: str


def dataset_choices(profile: Profile) -> list[DatasetChoice]:
    return [DatasetChoice(d.id, d.title.as_dict(), d.description.as_dict(),
                          s.name.as_dict(), d.record_type)
            for s in profile.sources for d in s.datasets]


def _datasets(profile: Profile) -> dict[str, DatasetSettings]:
    return {d.id: d for s in profile.sources for d in s.datasets}


@dataclass(frozen=True)
class SourceView:
    id: str
    name: Mapping[str, str]
    state: str
    fetched: int
    accepted: int
    rejected: int
    gap: Mapping[str, str] | None
    finished_at: datetime | None


@dataclass(frozen=True)
class PackageView:
    id: str
    complete: bool
    size: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RequestView:
    id: str
    state: str
    active: bool
    ready: bool
    received_at: datetime
    deadline: date
    extended: bool
    extension_reason: str | None
    overdue: bool
    datasets: list[Mapping[str, str]]
    period_from: date | None
    period_to: date | None
    requested_by: str
    sources: list[SourceView]
    package: PackageView | None
    progress: int = 0
    """Sources finished, in percent."""


def request_view(row: Request, profile: Profile, today: date) -> RequestView:
    datasets = _datasets(profile)
    names = {s.id: s.name.as_dict() for s in profile.sources}
    wanted = row.datasets if row.datasets is not None else list(datasets)
    sources = []
    for task in row.tasks:
        gap = None
        if task.state == "failed":
            code = task.last_error if task.last_error in GAP_REASONS else "error"
            gap = GAP_REASONS[code or "error"]
        sources.append(SourceView(task.source_id, names.get(task.source_id, {
            "da": task.source_id, "en": task.source_id}), task.state, task.records_fetched,
            task.records_accepted, task.records_rejected, gap, task.finished_at))
    finished = sum(1 for s in sources if s.state in ("done", "failed", "cancelled"))
    package = row.package
    active = RequestState(row.state) in ACTIVE
    return RequestView(
        id=row.id, state=row.state, active=active,
        ready=row.state in ("ready", "ready_with_gaps") and package is not None
        and package.deleted_at is None,
        received_at=row.received_at, deadline=row.effective_deadline,
        extended=row.extended_deadline is not None, extension_reason=row.extension_reason,
        overdue=active and row.effective_deadline < today,
        datasets=[datasets[d].title.as_dict() for d in wanted if d in datasets],
        period_from=row.period_from, period_to=row.period_to,
        requested_by=row.requester_role, sources=sources,
        package=_package(package),
        progress=round(100 * finished / len(sources)) if sources else 100,
    )


def _package(package: Package | None) -> PackageView | None:
    if package is None or package.deleted_at is not None:
        return None
    return PackageView(package.id, package.complete, package.plain_size, package.created_at,
                       package.expires_at)


@dataclass(frozen=True)
class ConsentView:
    id: str
    service_id: str
    service_name: str
    purpose: str
    datasets: list[Mapping[str, str]] | None
    status: str
    single_use: bool
    valid_until: date | None
    given_at: datetime
    revoked_at: datetime | None
    version: int


def consent_view(consent: Consent, service_name: str, profile: Profile,
                 today: date) -> ConsentView:
    datasets = _datasets(profile)
    return ConsentView(
        id=consent.id, service_id=consent.service_id, service_name=service_name,
        purpose=consent.purpose,
        datasets=[datasets[d].title.as_dict() for d in consent.datasets if d in datasets]
        if consent.datasets is not None else None,
        status=consent_status(consent, today), single_use=consent.single_use,
        valid_until=consent.valid_until, given_at=consent.given_at,
        revoked_at=consent.revoked_at, version=consent.version,
    )


@dataclass(frozen=True)
class DeliveryView:
    id: str
    service_name: str
    request_id: str
    state: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None


def delivery_view(delivery: Delivery, service_name: str) -> DeliveryView:
    return DeliveryView(delivery.id, service_name, delivery.request_id, delivery.state,
                        delivery.attempt, delivery.created_at, delivery.finished_at)


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    action: str
    who: str
    role: str
    detail: dict[str, Any] = field(default_factory=dict)


def acted_for_me(context: ServiceContext, cpr_digits: str, *, limit: int = 50
                 ) -> list[HistoryEvent]:
    """What others did on the citizen's behalf (under a mandate), newest first, each
    with the name the citizen knows them by."""
    with context.sessions() as session:
        events: Sequence[AuditEvent] = session.scalars(
            select(AuditEvent).where(AuditEvent.on_behalf_of == cpr_digits,
                                     AuditEvent.action.in_(_SHOWN_ACTIONS))
            .order_by(AuditEvent.id.desc()).limit(limit)).all()
        mandates = session.scalars(select(Mandate).where(Mandate.subject_cpr == cpr_digits)
                                   .order_by(Mandate.created_at)).all()
    names = {m.representative: m.representative_name for m in mandates
             if m.representative_name}
    return [HistoryEvent(e.at, e.action, names.get(e.actor, ""), e.actor_role)
            for e in events]
