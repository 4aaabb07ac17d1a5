"""The collect job: fetch one source for one request into the encrypted stage.

Exactly-once comes from the database, not the queue. A job claims its task by a
compare-and-set that bumps the attempt number and takes a lease; it extends the lease
as it goes and records its outcome only if the attempt is still its own. A worker
killed mid-collect simply lets its lease run out: the reconciler queues the next
attempt, which stages under its own prefix, so a late write from the dead attempt can
never mix into the package.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.db.models import Request, SourceTask, table_of
from exporter.flags.package import flag_states, with_own_records
from exporter.pipeline.collect import DatasetResult, Progress, collect_source
from exporter.service import audit
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.context import ServiceContext
from exporter.service.leases import Heartbeat, Leased
from exporter.service.lifecycle import RequestState, TaskState
from exporter.service.requests import (
    enqueue_assemble,
    lock_request,
    scoped_profile,
    transition,
)
from exporter.storage import BlobStage

__all__ = ["collect_task", "result_from_json", "result_to_json", "stage_prefix"]

log = logging.getLogger(__name__)
ENDED = (TaskState.DONE.value, TaskState.FAILED.value, TaskState.CANCELLED.value)


def stage_prefix(request_id: str, source_id: str, attempt: int) -> str:
    return f"stage/{request_id}/{source_id}/{attempt}/"


def result_to_json(result: DatasetResult) -> dict[str, Any]:
    return {
        "dataset_id": result.dataset_id,
        "source_id": result.source_id,
        "record_type": result.record_type,
        "fetched": result.fetched,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "outside_period": result.outside_period,
        "reasons": dict(result.reasons),
        "gap": result.gap,
        "source_seconds": round(result.source_seconds, 3),
    }


def result_from_json(data: dict[str, Any]) -> DatasetResult:
    from collections import Counter

    return DatasetResult(
        dataset_id=data["dataset_id"],
        source_id=data["source_id"],
        record_type=data["record_type"],
        fetched=data["fetched"],
        accepted=data["accepted"],
        rejected=data["rejected"],
        outside_period=data.get("outside_period", 0),
        reasons=Counter(data["reasons"]),
        gap=data["gap"],
        source_seconds=data.get("source_seconds", 0.0),
    )


TASK_LEASE = Leased(SourceTask, SourceTask.attempt, SourceTask.lease_until,
                    running=SourceTask.state == TaskState.RUNNING.value,
                    free=SourceTask.state == TaskState.PENDING.value)


def _claim(session: Session, context: ServiceContext, task_id: str, attempt: int,
           now: datetime) -> tuple[SourceTask, Request] | None:
    """Take the task for ``attempt`` (see :mod:`exporter.service.leases`) and lock its
    request. Locks are taken task first, then request, here and in :func:`_finish`."""
    task: SourceTask | None = TASK_LEASE.claim(
        session, task_id, attempt, now=now, seconds=context.settings.lease_seconds,
        state=TaskState.RUNNING.value, started_at=now,
    )
    if task is None:
        return None
    request = lock_request(session, task.request_id, related=False)
    assert request is not None  # a task's request is never deleted
    return task, request


_TASKS = table_of(SourceTask)
# Built once (see exporter.service.requests): every collect job runs them.
_END_TASK = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.attempt == bindparam("held_by"),
           _TASKS.c.state == TaskState.RUNNING.value)
    .values(state=bindparam("new_state"),
            finished_at=bindparam("now", type_=_TASKS.c.finished_at.type),
            lease_until=None, stage_attempt=bindparam("held_by"),
            results=bindparam("new_results", type_=_TASKS.c.results.type),
            records_fetched=bindparam("fetched"), records_accepted=bindparam("accepted"),
            records_rejected=bindparam("rejected"), last_error=bindparam("gap"))
    .returning(_TASKS.c.request_id, _TASKS.c.source_id)
)
_TASK_STATES = select(_TASKS.c.state).where(_TASKS.c.request_id == bindparam("request_id"))


def collect_task(context: ServiceContext, task_id: str, attempt: int) -> None:
    """Run attempt ``attempt`` of a source task; a stale or duplicate job does nothing."""
    now = datetime.now(UTC)
    given_up: Request | None = None
    with context.sessions.begin() as session:
        claimed = _claim(session, context, task_id, attempt, now)
        if claimed is None:
            log.info("collect %s attempt %d: not ours to run (done or taken)", task_id, attempt)
            return
        task, request = claimed
        if request.state == RequestState.CANCELLED.value:
            task.state, task.finished_at = TaskState.CANCELLED.value, now
            return
        if request.state == RequestState.RECEIVED.value:
            transition(session, request, RequestState.COLLECTING, SYSTEM_ACTOR, now=now)
        if attempt > context.settings.max_attempts:
            given_up = _give_up(session, context, task, request, now)
        source_id, request_id = task.source_id, request.id
        subject = Subject(Cpr.parse(request.subject_cpr), request.period_from, request.period_to)
        profile = scoped_profile(context.profile, request.datasets)
    if given_up is not None or attempt > context.settings.max_attempts:
        if given_up is not None:
            enqueue_assemble(context, given_up)
        return
    source = with_own_records(context, profile.source(source_id), subject.cpr.digits)
    keyring = context.keyring  # fail closed before anything is fetched
    stage = BlobStage(context.blobs, stage_prefix(request_id, source_id, attempt), keyring)
    results = collect_source(
        source, subject, profile.municipality.code, stage,
        progress=_progress(context, task_id, attempt),
        flag_states=flag_states(context, subject.cpr.digits),
    )
    stage.sync()  # durable before the database says it is there
    _finish(context, task_id, attempt, results)


def _progress(context: ServiceContext, task_id: str, attempt: int) -> Progress:
    """Extends the lease and publishes how many records were fetched, while collecting."""
    fetched = 0
    beat = Heartbeat(context.sessions.begin, TASK_LEASE, task_id, attempt,
                     context.settings.lease_seconds, "source",
                     values=lambda: {"records_fetched": fetched})

    def progress(_dataset_id: str, count: int) -> None:
        nonlocal fetched
        fetched += count
        beat()
    return progress


def _finish(
    context: ServiceContext, task_id: str, attempt: int, results: list[DatasetResult]
) -> None:
    now = datetime.now(UTC)
    gap = next((r.gap for r in results if r.gap), None)
    accepted = sum(r.accepted for r in results)
    rejected = sum(r.rejected for r in results)
    with context.sessions.begin() as session:
        # Recorded only while this attempt still holds the task.
        ended = session.execute(_END_TASK, {
            "task_id": task_id, "held_by": attempt,
            "new_state": (TaskState.FAILED if gap else TaskState.DONE).value,
            "now": now, "new_results": [result_to_json(r) for r in results],
            "fetched": sum(r.fetched for r in results),
            "accepted": accepted, "rejected": rejected, "gap": gap,
        }).one_or_none()
        if ended is None:
            log.warning("collect %s attempt %d finished after losing its lease", task_id, attempt)
            return
        request = lock_request(session, ended.request_id, related=False)
        assert request is not None
        audit.record(
            session, SYSTEM_ACTOR, "source.failed" if gap else "source.collected",
            request_id=request.id,
            detail={"source": ended.source_id, "attempt": attempt, "gap": gap,
                    "accepted": accepted, "rejected": rejected},
            at=now,
        )
        ready = maybe_start_assembly(session, request, now)
    if ready is not None:
        enqueue_assemble(context, ready)


def _give_up(session: Session, context: ServiceContext, task: SourceTask, request: Request,
             now: datetime) -> Request | None:
    """A source whose workers kept dying: record it as a gap rather than loop forever."""
    task.state, task.finished_at, task.lease_until = TaskState.FAILED.value, now, None
    task.last_error = "error"
    source = scoped_profile(context.profile, request.datasets).source(task.source_id)
    task.results = [
        result_to_json(DatasetResult(d.id, source.id, d.record_type, gap="error"))
        for d in source.datasets
    ]
    audit.record(
        session, SYSTEM_ACTOR, "source.failed", request_id=request.id,
        detail={"source": task.source_id, "attempt": task.attempt, "gap": "error",
                "reason": f"stopped after {context.settings.max_attempts} attempts"},
        at=now,
    )
    return maybe_start_assembly(session, request, now)


def maybe_start_assembly(session: Session, request: Request, now: datetime) -> Request | None:
    """If every task has ended, move the request to assembling (once) and return it."""
    states = session.scalars(_TASK_STATES, {"request_id": request.id}).all()
    if request.state != RequestState.COLLECTING.value or any(s not in ENDED for s in states):
        return None
    if transition(session, request, RequestState.ASSEMBLING, SYSTEM_ACTOR, now=now):
        return request
    return None
