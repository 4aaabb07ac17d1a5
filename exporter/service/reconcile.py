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

from sqlalchemy import select

from exporter.db.models import Package, Request, SourceTask
from exporter.delivery.recovery import reconcile_deliveries
from exporter.errors import EgneDataError
from exporter.service import audit
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.collecting import maybe_start_assembly
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import RequestState, TaskState
from exporter.service.requests import (
    assemble_job_id,
    collect_job_id,
    enqueue_assemble,
    enqueue_collect,
    transition,
)

__all__ = ["Reconciled", "expire_packages", "reconcile"]

log = logging.getLogger(__name__)


@dataclass
class Reconciled:
    collects: int = 0
    assemblies: int = 0
    expired: int = 0
    deliveries: int = 0


def _stale(task: SourceTask, now: datetime, grace: timedelta) -> bool:
    if task.state == TaskState.PENDING.value:
        return task.enqueued_at is None or task.enqueued_at < now - grace
    if task.state == TaskState.RUNNING.value:
        return task.lease_until is None or task.lease_until < now
    return False


def reconcile(context: ServiceContext, *, now: datetime | None = None) -> Reconciled:
    now = now or datetime.now(UTC)
    grace = timedelta(seconds=context.settings.lease_seconds)
    done = Reconciled()
    to_collect: list[SourceTask] = []
    to_assemble: list[Request] = []
    with context.sessions.begin() as session:
        active = session.scalars(
            select(Request).where(Request.state.in_([
                RequestState.RECEIVED.value, RequestState.COLLECTING.value,
                RequestState.ASSEMBLING.value,
            ]))
        ).all()
        for request in active:
            if request.state == RequestState.ASSEMBLING.value:
                expired_lease = (request.assemble_lease_until is None
                                 or request.assemble_lease_until < now)
                if expired_lease and not context.queue.pending(assemble_job_id(request)):
                    just_queued = request.state_changed_at > now - grace
                    if request.assemble_lease_until is None and just_queued:
                        continue  # give its job a moment
                    to_assemble.append(request)
                continue
            for task in request.tasks:
                if _stale(task, now, grace) and not context.queue.pending(collect_job_id(task)):
                    to_collect.append(task)
            ready = maybe_start_assembly(session, request, now)
            if ready is not None:
                to_assemble.append(ready)
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
    return done


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
            request = session.scalars(
                select(Request).where(Request.id == request_id).with_for_update()
            ).one()
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
