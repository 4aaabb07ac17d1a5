"""Recovery and housekeeping: what the database says is unfinished gets a job again.

The reconciler runs when a worker or the server starts and then periodically, in any
number of processes at once (every step it triggers is a compare-and-set, so running
it twice does no harm). It re-queues:

- a pending source task whose job is gone (Redis flushed, or lost before it ran);
- a running source task whose lease ran out (its worker died): the next attempt;
- a request whose tasks have all ended but which did not move on to assembling;
- an assembling request whose assembly lease ran out or whose job is gone;
- a delivery that is pending with no job, due to retry, or whose lease ran out
  (:mod:`exporter.delivery.recovery`).

It also deletes packages whose retention has run out, with their staged data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import lazyload

from exporter.db.models import (
    LoginAttempt,
    OverviewCache,
    Package,
    Request,
    SourceTask,
    WebSession,
)
from exporter.delivery.recovery import reconcile_deliveries
from exporter.errors import EgneDataError
from exporter.flags.notices import reconcile_notices
from exporter.service import audit
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.collecting import ENDED, maybe_start_assembly
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import RequestState, TaskState
from exporter.service.requests import (
    assemble_job_id,
    collect_job_id,
    enqueue_assemble,
    enqueue_collect,
    lock_request,
    transition,
)

__all__ = ["Reconciled", "expire_packages", "forget_expired", "reconcile"]

log = logging.getLogger(__name__)


@dataclass
class Reconciled:
    collects: int = 0
    assemblies: int = 0
    expired: int = 0
    deliveries: int = 0
    notices: int = 0
    forgotten: int = 0


def reconcile(context: ServiceContext, *, now: datetime | None = None) -> Reconciled:
    """One round. Each question is one query for the rows it concerns, and one round
    trip to the queue for all their jobs, so a round costs little even with thousands
    of requests waiting in the queue."""
    now = now or datetime.now(UTC)
    grace = timedelta(seconds=context.settings.lease_seconds)
    done = Reconciled()
    with context.sessions() as session:
        stale = session.scalars(
            select(SourceTask).join(Request, SourceTask.request_id == Request.id)
            .where(
                Request.state.in_([RequestState.RECEIVED.value, RequestState.COLLECTING.value]),
                ((SourceTask.state == TaskState.PENDING.value)
                 & (SourceTask.enqueued_at.is_(None) | (SourceTask.enqueued_at < now - grace)))
                | ((SourceTask.state == TaskState.RUNNING.value)
                   & (SourceTask.lease_until.is_(None) | (SourceTask.lease_until < now))),
            )
            .options(lazyload("*"))
        ).all()
        lapsed = session.scalars(
            select(Request).where(
                Request.state == RequestState.ASSEMBLING.value,
                Request.assemble_lease_until.is_(None) | (Request.assemble_lease_until < now),
            ).options(lazyload("*"))
        ).all()
    live = context.queue.pending_many(
        [collect_job_id(task) for task in stale]
        + [assemble_job_id(request) for request in lapsed]
    )  # asked with the session closed: no transaction waits on Redis
    to_collect = [task for task in stale if collect_job_id(task) not in live]
    to_assemble = [
        request for request in lapsed
        if assemble_job_id(request) not in live
        # a job queued a moment ago may not have taken its lease yet
        and not (request.assemble_lease_until is None and request.state_changed_at > now - grace)
    ]
    to_assemble += _all_collected(context, now)
    for task in to_collect:
        log.info("re-queueing source task %s (attempt %d)", task.id, task.attempt + 1)
        enqueue_collect(context, task)
        done.collects += 1
    for request in to_assemble:
        log.info("re-queueing assembly of request %s", request.id)
        enqueue_assemble(context, request)
        done.assemblies += 1
    done.expired = expire_packages(context, now=now)
    done.deliveries = reconcile_deliveries(context, now)
    done.notices = reconcile_notices(context, now)
    done.forgotten = forget_expired(context, now)
    return done


def forget_expired(context: ServiceContext, now: datetime) -> int:
    """Delete what has no use once its time is up and holds personal data: login
    sessions past their end (absolute or idle), unfinished logins, cached overviews."""
    idle = now - timedelta(minutes=context.settings.session_idle_minutes)
    with context.sessions.begin() as session:
        counts = [
            session.execute(delete(WebSession).where(
                (WebSession.expires_at <= now) | (WebSession.last_seen_at <= idle))),
            session.execute(delete(LoginAttempt).where(LoginAttempt.expires_at <= now)),
            session.execute(delete(OverviewCache).where(OverviewCache.expires_at <= now)),
        ]
    return sum(int(getattr(result, "rowcount", 0) or 0) for result in counts)


def _all_collected(context: ServiceContext, now: datetime) -> list[Request]:
    """Requests still collecting although every task has ended (a collect job died
    between recording its outcome and moving the request on): move them on now."""
    unfinished = select(SourceTask.id).where(
        SourceTask.request_id == Request.id, SourceTask.state.not_in(ENDED))
    with context.sessions() as session:
        ids = session.scalars(select(Request.id).where(
            Request.state == RequestState.COLLECTING.value, ~unfinished.exists())).all()
    ready: list[Request] = []
    for request_id in ids:
        with context.sessions.begin() as session:
            request = lock_request(session, request_id, related=False)
            assert request is not None
            moved = maybe_start_assembly(session, request, now)
        if moved is not None:
            ready.append(moved)
    return ready


def expire_packages(context: ServiceContext, *, now: datetime | None = None,
                    limit: int = 500) -> int:
    """Delete packages past their retention, and their staged data; returns how many."""
    now = now or datetime.now(UTC)
    with context.sessions() as session:
        due = session.scalars(
            select(Package.request_id).where(Package.expires_at < now,
                                             Package.deleted_at.is_(None)).limit(limit)
        ).all()
    count = 0
    for request_id in due:
        with context.sessions.begin() as session:
            request = lock_request(session, request_id)
            assert request is not None
            package = request.package
            if package is None or package.deleted_at is not None or package.expires_at >= now:
                continue
            try:  # the blobs first: if that fails, the row stays due and is tried again
                context.blobs.delete(package.blob_key)
                for blob in list(context.blobs.list(f"stage/{request.id}/")):
                    context.blobs.delete(blob.key)
            except EgneDataError as exc:
                log.error("could not delete the package of request %s: %s", request.id, exc)
                continue
            package.deleted_at = now
            if request.state in (RequestState.READY.value, RequestState.READY_WITH_GAPS.value):
                transition(session, request, RequestState.EXPIRED, SYSTEM_ACTOR, now=now)
            else:
                audit.record(session, SYSTEM_ACTOR, "package.deleted", request_id=request.id,
                             detail={"package": package.id}, at=now)
            count += 1
    return count
