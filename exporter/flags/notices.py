"""Telling recipients (GDPR Art. 19): when a flag is decided "corrected", every service
that received a package holding the record gets a correction notice on its delivery
channel, signed like the push.

The notices are rows written in the decision's own transaction (an outbox): nothing is
lost if Redis is flushed or a worker dies, since the reconciler queues what is pending
or due again. Sending is a job per attempt that claims the notice by a fenced lease,
exactly as a delivery; a duplicate job claims nothing, so a notice is sent once per
attempt and receivers de-duplicate by its id (``webhook-id``).

Which services received the record: a delivered package that is still kept is read
(only the record's dataset, with random access); for one deleted after its retention,
every delivery that carried the record's dataset is told: better one notice too many
than one too few.

The notice is JSON, with ids only::

    {"type": "egnedata.record.corrected", "notice": "<id>", "record": "urn:egnedata:…",
     "field": "title" | null, "package": "<the package the service received>",
     "delivery": "<id>", "corrected_at": "2026-12-06T10:00:00+00:00"}
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from exporter.db.models import (
    CorrectionNotice,
    Delivery,
    ExternalService,
    Flag,
    Package,
    Request,
)
from exporter.delivery.deliveries import dataset_ids
from exporter.delivery.receiver import NOTICE_TYPE
from exporter.delivery.registry import s3_credentials
from exporter.delivery.sending import backoff_seconds
from exporter.delivery.states import DeliveryState
from exporter.delivery.targets import TARGETS, Outcome, Outgoing
from exporter.errors import EgneDataError
from exporter.flags.records import package_has_record
from exporter.service import audit
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.context import ServiceContext
from exporter.service.leases import Leased

__all__ = ["NOTICE_TYPE", "NoticeView", "enqueue_notice", "flag_notices", "plan_notices",
           "reconcile_notices", "record_recipients", "send_notice"]

log = logging.getLogger(__name__)
D = DeliveryState
_REACHING = (D.DELIVERED.value, D.PENDING.value, D.SENDING.value, D.RETRY_WAIT.value)
"""Deliveries that reached the service or may still: a correction is owed to each."""

NOTICE_LEASE = Leased(CorrectionNotice, CorrectionNotice.attempt, CorrectionNotice.lease_until,
                      running=CorrectionNotice.state == D.SENDING.value,
                      free=CorrectionNotice.state.in_([D.PENDING.value, D.RETRY_WAIT.value]))


@dataclass(frozen=True)
class NoticeView:
    """A correction notice as the citizen sees it: which service, and how it went."""

    id: str
    service: str
    state: str
    created_at: datetime
    finished_at: datetime | None


def flag_notices(context: ServiceContext, flag_id: str) -> list[NoticeView]:
    """The services told that the flag's record was corrected."""
    with context.sessions() as session:
        rows = session.execute(
            select(CorrectionNotice, ExternalService.name)
            .join(ExternalService, ExternalService.id == CorrectionNotice.service_id)
            .where(CorrectionNotice.flag_id == flag_id)
            .order_by(ExternalService.name)).all()
    return [NoticeView(n.id, name, n.state, n.created_at, n.finished_at) for n, name in rows]


def notice_job_id(notice: CorrectionNotice) -> str:
    return f"notify-{notice.id}-{notice.attempt + 1}"


def enqueue_notice(context: ServiceContext, notice: CorrectionNotice) -> None:
    context.queue.enqueue("notify", notice_job_id(notice), notice.id, notice.attempt + 1,
                          timeout=context.settings.delivery_timeout_seconds * 2)


def _received(context: ServiceContext, session: Session, delivery: Delivery,
              flag: Flag) -> bool:
    package = session.get(Package, delivery.package_id)
    if package is not None and package.deleted_at is None:
        return package_has_record(context, package, flag.dataset_id, flag.record_id)
    request = session.get(Request, delivery.request_id)
    return request is not None and flag.dataset_id in dataset_ids(context, request.datasets)


def record_recipients(context: ServiceContext, flag: Flag) -> list[str]:
    """The names of the services that received a package holding the flag's record
    (those a correction is sent on to), in name order."""
    with context.sessions() as session:
        rows = session.execute(
            select(Delivery, ExternalService.name)
            .join(ExternalService, ExternalService.id == Delivery.service_id)
            .where(Delivery.subject_cpr == flag.subject_cpr,
                   Delivery.state.in_(_REACHING))).all()
        return sorted({name for delivery, name in rows
                       if _received(context, session, delivery, flag)})


def plan_notices(session: Session, context: ServiceContext, flag: Flag,
                 now: datetime) -> list[CorrectionNotice]:
    """A pending notice (in the caller's transaction) for every package of the flag's
    citizen that held the record and was delivered, or is still on its way (its notice
    waits until it arrives, and ends if it never does)."""
    deliveries = session.scalars(select(Delivery).where(
        Delivery.subject_cpr == flag.subject_cpr,
        Delivery.state.in_(_REACHING))).all()
    notices = []
    for delivery in deliveries:
        if not _received(context, session, delivery, flag):
            continue
        notice = CorrectionNotice(
            id=str(uuid.uuid4()), flag_id=flag.id, delivery_id=delivery.id,
            service_id=delivery.service_id, state=D.PENDING.value, attempt=0,
            enqueued_at=now, created_at=now)
        session.add(notice)
        audit.record(session, SYSTEM_ACTOR, "notice.pending", at=now, detail={
            "notice": notice.id, "flag": flag.id, "delivery": delivery.id,
            "service": delivery.service_id})
        notices.append(notice)
    return notices


def _end(session: Session, notice: CorrectionNotice, state: DeliveryState, reason: str | None,
         now: datetime, **detail: object) -> None:
    notice.state, notice.lease_until, notice.finished_at = state.value, None, now
    notice.last_error = reason
    audit.record(session, SYSTEM_ACTOR, f"notice.{state.value}", at=now, detail={
        "notice": notice.id, "attempt": notice.attempt, "reason": reason, **detail})


def _outgoing(context: ServiceContext, notice: CorrectionNotice, flag: Flag,
              delivery: Delivery, service: ExternalService) -> Outgoing:
    body = orjson.dumps({
        "type": NOTICE_TYPE, "notice": notice.id, "record": flag.record_id,
        "field": flag.field, "package": delivery.package_id, "delivery": delivery.id,
        "corrected_at": (flag.decided_at or datetime.now(UTC)).isoformat(timespec="seconds"),
    }, option=orjson.OPT_SORT_KEYS)
    return Outgoing(
        delivery_id=notice.id, package_id=delivery.package_id, size=len(body),
        body=lambda: [body], signing_key=context.keyring.signing_key, check=lambda: None,
        timeout=context.settings.delivery_timeout_seconds, webhook_url=service.webhook_url,
        s3_bucket=service.s3_bucket, s3_prefix=service.s3_prefix or "",
        s3_endpoint_url=service.s3_endpoint_url, s3_region=service.s3_region,
        s3_credentials=(s3_credentials(service, context.keyring, dict(os.environ))
                        if service.target == "s3" else None),
        receipt_fields={"service": service.name, "type": NOTICE_TYPE},
        content_type="application/json", name=f"{notice.id}.correction.json",
    )


def send_notice(context: ServiceContext, notice_id: str, attempt: int) -> None:
    """Run attempt ``attempt`` of a notice; a stale or duplicate job does nothing."""
    now = datetime.now(UTC)
    settings = context.settings
    with context.sessions.begin() as session:
        # One request is sent under the lease: it must outlast the send's own time
        # limit, or the reconciler would start the next attempt while this one waits.
        notice = NOTICE_LEASE.claim(
            session, notice_id, attempt, now=now, state=D.SENDING.value,
            seconds=settings.lease_seconds + settings.delivery_timeout_seconds)
        if notice is None:
            return
        if attempt > settings.delivery_max_attempts:
            _end(session, notice, D.DEAD_LETTER,
                 f"stopped after {settings.delivery_max_attempts} attempts", now)
            return
        service = session.get_one(ExternalService, notice.service_id)
        if service.state != "active":
            _end(session, notice, D.DEAD_LETTER, "the service is suspended", now)
            return
        flag = session.get_one(Flag, notice.flag_id)
        delivery = session.get_one(Delivery, notice.delivery_id)
        if delivery.state in (D.DEAD_LETTER.value, D.CANCELLED.value):
            _end(session, notice, D.CANCELLED, "the package never reached the service", now)
            return
        waiting = delivery.state != D.DELIVERED.value
        outgoing = None if waiting else _outgoing(context, notice, flag, delivery, service)
        target = TARGETS[service.target]
    if outgoing is None:  # the package is still on its way: tell once it has arrived
        _finish(context, notice_id, attempt, Outcome(
            "retry", error="the package has not reached the service yet"))
        return
    try:
        outcome = target.send(outgoing)
    except EgneDataError as exc:
        outcome = Outcome("retry", error=str(exc))
    _finish(context, notice_id, attempt, outcome)


def _finish(context: ServiceContext, notice_id: str, attempt: int, outcome: Outcome) -> None:
    now = datetime.now(UTC)
    settings = context.settings
    with context.sessions.begin() as session:
        notice = session.scalars(select(CorrectionNotice).where(
            CorrectionNotice.id == notice_id).with_for_update()).one()
        if notice.attempt != attempt or notice.state != D.SENDING.value:
            log.warning("notice %s attempt %d ended after losing its lease", notice_id, attempt)
            return
        notice.last_status = outcome.status_code
        if outcome.result == "delivered":
            _end(session, notice, D.DELIVERED, None, now, status=outcome.status_code)
            return
        if outcome.result == "failed" or attempt >= settings.delivery_max_attempts:
            _end(session, notice, D.DEAD_LETTER, outcome.error, now, status=outcome.status_code)
            return
        wait = backoff_seconds(attempt, settings.delivery_retry_base_seconds,
                               settings.delivery_retry_max_seconds, outcome.retry_after)
        notice.state, notice.lease_until = D.RETRY_WAIT.value, None
        notice.next_attempt_at = now + timedelta(seconds=wait)
        notice.last_error = outcome.error
        audit.record(session, SYSTEM_ACTOR, "notice.retry_wait", at=now, detail={
            "notice": notice.id, "attempt": attempt, "status": outcome.status_code,
            "reason": outcome.error, "wait_seconds": round(wait, 3)})


def reconcile_notices(context: ServiceContext, now: datetime, *, limit: int = 1000) -> int:
    """Queue the next attempt of notices whose job is gone, whose retry is due, or whose
    worker died (called from :func:`exporter.service.reconcile.reconcile`)."""
    grace = timedelta(seconds=context.settings.lease_seconds)
    N = CorrectionNotice
    with context.sessions() as session:
        due = session.scalars(select(N).where(or_(
            and_(N.state == D.PENDING.value,
                 or_(N.enqueued_at.is_(None), N.enqueued_at < now - grace)),
            and_(N.state == D.RETRY_WAIT.value, N.next_attempt_at <= now),
            and_(N.state == D.SENDING.value, N.lease_until < now),
        )).limit(limit)).all()
    live = context.queue.pending_many([notice_job_id(n) for n in due])
    queued = 0
    for notice in due:
        if notice_job_id(notice) not in live:
            enqueue_notice(context, notice)
            queued += 1
    return queued
