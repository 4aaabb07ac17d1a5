"""The deliver job: one attempt at pushing one delivery, exactly as the collect job
works on a source task.

The job claims the delivery by a compare-and-set on its attempt number and takes a
lease; a stale or duplicate job finds nothing to claim and does nothing. Before any
byte is sent, and again every few seconds while sending, it checks that the basis
still holds (the consent not revoked or expired, the mandate valid, the service
active) and that the attempt is still its own; if not, it stops at once. The body is
the stored package's payload behind a header re-wrapped to the service's age key,
streamed from the blob store: memory does not grow with the package. The header is
made once and kept, so every attempt sends the same bytes.
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exporter.db.models import (
    Consent,
    Delivery,
    DeliveryAttempt,
    ExternalService,
    Mandate,
    Package,
    Request,
)
from exporter.delivery.consents import consent_problem
from exporter.delivery.deliveries import dataset_ids
from exporter.delivery.mandates import mandate_problem
from exporter.delivery.registry import s3_credentials
from exporter.delivery.states import DeliveryState
from exporter.delivery.targets import TARGETS, Outcome, Outgoing
from exporter.errors import EgneDataError
from exporter.service import audit
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.context import ServiceContext
from exporter.service.leases import Leased
from formats import age

__all__ = ["Stopped", "backoff_seconds", "basis_problem", "deliver"]

log = logging.getLogger(__name__)
_HEADER_PROBE = 64 * 1024
_PIECE = 256 * 1024
_FRESH = 1.0
D = DeliveryState


class Stopped(EgneDataError):
    """The attempt must stop sending: its lease was taken over, or its basis ended."""


def backoff_seconds(failures: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with jitter, at least what Retry-After asked, at most ``cap``."""
    delay = base * 2.0 ** max(0, failures - 1) * random.uniform(1.0, 1.25)  # noqa: S311
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def basis_problem(session: Session, context: ServiceContext, delivery: Delivery,
                  now: datetime) -> str | None:
    """Why the delivery may no longer be sent (consent, mandate, service, package)."""
    service = session.get_one(ExternalService, delivery.service_id)
    if service.state != "active":
        return "the service is suspended"
    stored = session.execute(
        select(Package.id).where(Package.id == delivery.package_id,
                                 Package.deleted_at.is_(None))
    ).first()
    if stored is None:
        return "the package is no longer stored"
    named = session.scalar(select(Request.datasets).where(Request.id == delivery.request_id))
    datasets = dataset_ids(context, named)
    if delivery.consent_id is not None:
        consent = session.get_one(Consent, delivery.consent_id, populate_existing=True)
        return consent_problem(consent, service, datasets, now.date(), delivery_id=delivery.id)
    if delivery.mandate_id is not None:
        mandate = session.get_one(Mandate, delivery.mandate_id, populate_existing=True)
        return mandate_problem(mandate, "push", now, datasets=datasets, service_id=service.id)
    return "the delivery has no consent or mandate"


DELIVERY_LEASE = Leased(Delivery, Delivery.attempt, Delivery.lease_until,
                        running=Delivery.state == D.SENDING.value,
                        free=Delivery.state.in_([D.PENDING.value, D.RETRY_WAIT.value]))


def _claim(session: Session, context: ServiceContext, delivery_id: str, attempt: int,
           now: datetime) -> Delivery | None:
    delivery: Delivery | None = DELIVERY_LEASE.claim(
        session, delivery_id, attempt, now=now, seconds=context.settings.lease_seconds,
        state=D.SENDING.value,
    )
    return delivery


def _end(session: Session, delivery: Delivery, state: DeliveryState, reason: str | None,
         now: datetime, **detail: object) -> None:
    delivery.state, delivery.lease_until = state.value, None
    delivery.finished_at, delivery.last_error = now, reason
    audit.record(session, SYSTEM_ACTOR, f"delivery.{state.value}",
                 request_id=delivery.request_id, at=now,
                 detail={"delivery": delivery.id, "attempt": delivery.attempt,
                         "reason": reason, **detail})


@dataclass(frozen=True)
class _Plan:
    delivery_id: str
    package_id: str
    request_id: str
    blob_key: str
    header: bytes
    payload_offset: int
    package_size: int
    service: ExternalService
    consent_id: str | None


def _start(context: ServiceContext, delivery_id: str, attempt: int) -> _Plan | None:
    """Claim the attempt and check its basis; the header re-wrapped to the service's key
    is made on the first attempt and kept (written only while the claim holds)."""
    now = datetime.now(UTC)
    with context.sessions.begin() as session:
        delivery = _claim(session, context, delivery_id, attempt, now)
        if delivery is None:
            log.info("deliver %s attempt %d: not ours to run", delivery_id, attempt)
            return None
        problem = basis_problem(session, context, delivery, now)
        if problem is not None:
            _end(session, delivery, D.CANCELLED, problem, now)
            return None
        if attempt - delivery.attempt_base > context.settings.delivery_max_attempts:
            _end(session, delivery, D.DEAD_LETTER,
                 f"stopped after {context.settings.delivery_max_attempts} attempts", now)
            return None
        size = session.scalar(select(Package.size).where(Package.id == delivery.package_id))
        service = session.get_one(ExternalService, delivery.service_id)
        session.expunge(service)
        with context.blobs.open_reader(delivery.blob_key, 0, _HEADER_PROBE - 1) as raw:
            recipient = age.X25519Recipient.parse(service.age_recipient)
            new = age.rewrap_header(raw, context.keyring.vault_identities, [recipient])
        if delivery.header is None:
            delivery.header = new.header
        return _Plan(delivery.id, delivery.package_id, delivery.request_id, delivery.blob_key,
                     delivery.header, new.payload_offset, size or 0, service,
                     delivery.consent_id)


class _Guard:
    """Extends the lease and re-checks the basis every few seconds while sending.

    Asked right before the first byte (``now_``), it checks again unless the claim's
    own check is less than :data:`_FRESH` seconds old (a small package is signed in
    milliseconds; a large one takes long enough to deserve a second look).
    """

    def __init__(self, context: ServiceContext, delivery_id: str, attempt: int) -> None:
        self._context, self._id, self._attempt = context, delivery_id, attempt
        self._interval = context.settings.lease_seconds / 3
        self._checked = time.monotonic()
        self._next = self._checked + self._interval

    def __call__(self, *, now_: bool = False) -> None:
        if now_ and time.monotonic() - self._checked < _FRESH:
            return
        if not now_ and time.monotonic() < self._next:
            return
        self._checked = time.monotonic()
        self._next = self._checked + self._interval
        now = datetime.now(UTC)
        with self._context.sessions.begin() as session:
            if not DELIVERY_LEASE.extend(session, self._id, self._attempt, now=now,
                                         seconds=self._context.settings.lease_seconds):
                raise Stopped("another attempt took over this delivery")
            delivery = session.get_one(Delivery, self._id)
            problem = basis_problem(session, self._context, delivery, now)
            if problem is not None:
                _end(session, delivery, D.CANCELLED, problem, now)
        if problem is not None:
            raise Stopped(problem)


def deliver(context: ServiceContext, delivery_id: str, attempt: int) -> None:
    """Run attempt ``attempt`` of a delivery; a stale or duplicate job does nothing."""
    plan = _start(context, delivery_id, attempt)
    if plan is None:
        return
    started = datetime.now(UTC)
    guard = _Guard(context, delivery_id, attempt)
    try:
        header, offset = plan.header, plan.payload_offset
        size = len(header) + plan.package_size - offset

        def body() -> Iterator[bytes]:
            yield header
            with context.blobs.open_reader(plan.blob_key, offset) as payload:
                while piece := payload.read(_PIECE):
                    guard()
                    yield piece

        service = plan.service
        outgoing = Outgoing(
            delivery_id=plan.delivery_id, package_id=plan.package_id, size=size, body=body,
            signing_key=context.keyring.signing_key, check=lambda: guard(now_=True),
            timeout=context.settings.delivery_timeout_seconds,
            webhook_url=service.webhook_url, s3_bucket=service.s3_bucket,
            s3_prefix=service.s3_prefix or "", s3_endpoint_url=service.s3_endpoint_url,
            s3_region=service.s3_region,
            s3_credentials=(s3_credentials(service, context.keyring, dict(os.environ))
                            if service.target == "s3" else None),
            receipt_fields={"service": service.name, "consent": plan.consent_id,
                            "municipality": context.profile.municipality.code},
        )
        target = TARGETS[service.target]
        outcome = target.send(outgoing)
    except Stopped as exc:
        log.info("deliver %s attempt %d stopped: %s", delivery_id, attempt, exc)
        return
    except EgneDataError as exc:
        outcome = Outcome("retry", error=str(exc))
    _finish(context, delivery_id, attempt, started, outcome)


def _finish(context: ServiceContext, delivery_id: str, attempt: int, started: datetime,
            outcome: Outcome) -> None:
    now = datetime.now(UTC)
    settings = context.settings
    with context.sessions.begin() as session:
        delivery = session.scalars(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        ).one()
        if delivery.attempt != attempt or delivery.state != D.SENDING.value:
            log.warning("deliver %s attempt %d ended after losing its lease", delivery_id, attempt)
            return
        session.add(DeliveryAttempt(
            id=str(uuid.uuid4()), delivery_id=delivery.id, attempt=attempt, started_at=started,
            finished_at=now, outcome=outcome.result, status_code=outcome.status_code,
            error=outcome.error, sha256=outcome.sha256, bytes_sent=outcome.bytes_sent,
            retry_after=outcome.retry_after,
        ))
        delivery.last_status = outcome.status_code
        if outcome.sha256 is not None:
            delivery.sha256, delivery.size = outcome.sha256, outcome.bytes_sent
        if outcome.result == "delivered":
            _end(session, delivery, D.DELIVERED, None, now, status=outcome.status_code,
                 sha256=outcome.sha256, size=outcome.bytes_sent)
            return
        failures = attempt - delivery.attempt_base
        if outcome.result == "failed" or failures >= settings.delivery_max_attempts:
            _end(session, delivery, D.DEAD_LETTER, outcome.error, now,
                 status=outcome.status_code)
            return
        wait = backoff_seconds(failures, settings.delivery_retry_base_seconds,
                               settings.delivery_retry_max_seconds, outcome.retry_after)
        delivery.state, delivery.lease_until = D.RETRY_WAIT.value, None
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        delivery.last_error = outcome.error
        audit.record(session, SYSTEM_ACTOR, "delivery.retry_wait",
                     request_id=delivery.request_id, at=now,
                     detail={"delivery": delivery.id, "attempt": attempt,
                             "status": outcome.status_code, "reason": outcome.error,
                             "wait_seconds": round(wait, 3)})
