"""Deliveries: pushing a ready package to a registered service.

A delivery is created only under a basis that covers it: the citizen's own consent
for that service and those datasets, or a representative's mandate with the ``push``
right. A push without one is refused (:class:`NotAllowed`) and the refusal audited.
The row is durable; the queue only carries its id and attempt number, and the
reconciler re-queues what the database says is unfinished.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exporter.db.models import Consent, Delivery, ExternalService, Mandate, Request
from exporter.delivery.consents import NotAllowed, consent_problem, record_event
from exporter.delivery.states import OPEN, DeliveryState
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import RequestState
from exporter.service.requests import Conflict, NotFound

__all__ = [
    "create_delivery",
    "dataset_ids",
    "deliver_job_id",
    "enqueue_delivery",
    "get_delivery",
    "list_deliveries",
    "request_datasets",
    "retry_delivery",
]

_READY = (RequestState.READY.value, RequestState.READY_WITH_GAPS.value)


def deliver_job_id(delivery: Delivery) -> str:
    return f"deliver-{delivery.id}-{delivery.attempt + 1}"


def enqueue_delivery(context: ServiceContext, delivery: Delivery) -> None:
    context.queue.enqueue("deliver", deliver_job_id(delivery), delivery.id,
                          delivery.attempt + 1, timeout=3600)


def dataset_ids(context: ServiceContext, named: list[Any] | None) -> list[str]:
    """The datasets a request's package holds: those it named, or all the profile's."""
    if named is not None:
        return [str(d) for d in named]
    return sorted(d.id for s in context.profile.sources for d in s.datasets)


def request_datasets(context: ServiceContext, request: Request) -> list[str]:
    return dataset_ids(context, request.datasets)


def _refuse(context: ServiceContext, actor: Actor, request_id: str, service_id: str,
            reason: str, now: datetime) -> NotAllowed:
    with context.sessions.begin() as session:
        audit.record(session, actor, "push.refused", request_id=request_id, at=now,
                     detail={"service": service_id, "reason": reason})
    return NotAllowed(f"this package may not be pushed to that service: {reason}")


def _pick_consent(session_consents: Sequence[Consent], service: ExternalService,
                  datasets: list[str], now: datetime) -> tuple[Consent | None, str | None]:
    reason = "there is no consent for this service; give one first (POST /v1/consents)"
    for consent in session_consents:
        problem = consent_problem(consent, service, datasets, now.date())
        if problem is None:
            return consent, None
        reason = problem
    return None, reason


def create_delivery(
    context: ServiceContext,
    actor: Actor,
    cpr_digits: str,
    request_id: str,
    service_id: str,
    *,
    consent_id: str | None = None,
    mandate: Mandate | None = None,
    now: datetime | None = None,
) -> tuple[Delivery, bool]:
    """A new delivery, queued (or the open or finished one for the same package and
    service); whether it was created now. :class:`NotAllowed` without a basis."""
    now = now or datetime.now(UTC)
    refusal: str | None = None
    if not is_id(request_id):
        raise NotFound("no such request")
    if not is_id(service_id) or (consent_id is not None and not is_id(consent_id)):
        raise NotFound("no such service or consent")
    with context.sessions.begin() as session:
        request = session.get(Request, request_id)
        if request is None or request.subject_cpr != cpr_digits:
            raise NotFound("no such request")
        package = request.package
        if request.state not in _READY or package is None or package.deleted_at is not None:
            raise Conflict(f"there is no package to push (the request is {request.state})")
        service = session.get(ExternalService, service_id)
        if service is None:
            raise NotFound("no such service")
        earlier = session.scalars(
            select(Delivery).where(
                Delivery.package_id == package.id, Delivery.service_id == service.id,
                Delivery.state.in_([*(s.value for s in OPEN), DeliveryState.DELIVERED.value]))
        ).first()
        if earlier is not None:
            return earlier, False
        datasets = request_datasets(context, request)
        consent: Consent | None = None
        if mandate is None:
            query = select(Consent).where(Consent.subject_cpr == cpr_digits,
                                          Consent.service_id == service.id)
            if consent_id is not None:
                query = query.where(Consent.id == consent_id)
            candidates = session.scalars(
                query.order_by(Consent.given_at.desc()).with_for_update()
            ).all()
            consent, refusal = _pick_consent(candidates, service, datasets, now)
        elif service.state != "active":
            refusal = "the service is suspended"
        if refusal is None:
            delivery = Delivery(
                id=str(uuid.uuid4()), request_id=request.id, package_id=package.id,
                blob_key=package.blob_key, service_id=service.id,
                consent_id=consent.id if consent else None,
                mandate_id=mandate.id if mandate else None, subject_cpr=cpr_digits,
                requested_by=actor.subject, requested_by_role=actor.role,
                state=DeliveryState.PENDING.value, attempt=0, attempt_base=0, enqueued_at=now,
                created_at=now,
            )
            session.add(delivery)
            session.flush()
            if consent is not None and consent.single_use:
                consent.state, consent.used_by_delivery = "used", delivery.id
                record_event(session, context, consent, service, "used", actor, now)
            audit.record(session, actor, "delivery.created", request_id=request.id, at=now,
                         detail={"delivery": delivery.id, "service": service.id,
                                 "package": package.id, "consent": delivery.consent_id,
                                 "mandate": delivery.mandate_id})
    if refusal is not None:
        raise _refuse(context, actor, request_id, service_id, refusal, now)
    enqueue_delivery(context, delivery)
    return delivery, True


def retry_delivery(context: ServiceContext, actor: Actor, delivery_id: str,
                   *, cpr_digits: str | None = None, now: datetime | None = None) -> Delivery:
    """Send a dead-lettered delivery again, with a fresh round of attempts."""
    now = now or datetime.now(UTC)
    if not is_id(delivery_id):
        raise NotFound("no such delivery")
    with context.sessions.begin() as session:
        delivery = session.scalars(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        ).one_or_none()
        if delivery is None or (cpr_digits is not None and delivery.subject_cpr != cpr_digits):
            raise NotFound("no such delivery")
        if delivery.state != DeliveryState.DEAD_LETTER.value:
            raise Conflict(f"a delivery that is {delivery.state} cannot be retried")
        delivery.state, delivery.enqueued_at = DeliveryState.PENDING.value, now
        delivery.attempt_base = delivery.attempt
        delivery.next_attempt_at, delivery.finished_at = None, None
        audit.record(session, actor, "delivery.retried", request_id=delivery.request_id,
                     at=now, detail={"delivery": delivery.id, "attempt": delivery.attempt})
    enqueue_delivery(context, delivery)
    return delivery


def get_delivery(context: ServiceContext, delivery_id: str,
                 *, cpr_digits: str | None = None) -> Delivery:
    if not is_id(delivery_id):
        raise NotFound("no such delivery")
    with context.sessions() as session:
        delivery = session.get(Delivery, delivery_id,
                               options=[selectinload(Delivery.attempts)])
    if delivery is None or (cpr_digits is not None and delivery.subject_cpr != cpr_digits):
        raise NotFound("no such delivery")
    return delivery


def list_deliveries(context: ServiceContext, *, cpr_digits: str | None = None,
                    states: Sequence[str] | None = None, limit: int = 200,
                    offset: int = 0) -> list[Delivery]:
    query = select(Delivery).options(selectinload(Delivery.attempts)) \
        .order_by(Delivery.created_at.desc())
    if cpr_digits is not None:
        query = query.where(Delivery.subject_cpr == cpr_digits)
    if states:
        query = query.where(Delivery.state.in_(list(states)))
    with context.sessions() as session:
        return list(session.scalars(query.limit(limit).offset(offset)).all())
