"""Access requests: creating them, cancelling, extending deadlines, retrying a source.

Each operation is one database transaction that changes state, appends to the audit
log and commits (new requests that arrive together may share one: see
:mod:`exporter.service.intake`); jobs are queued only after the commit, so a queue that
loses a job loses nothing the reconciler cannot find again in the database.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from exporter.cpr import Cpr
from exporter.db.models import Request, SourceTask, table_of
from exporter.deadlines import (
    MAX_EXTENSION_MONTHS,
    danish_date,
    extension_allowed,
    extension_months,
    response_deadline,
)
from exporter.errors import EgneDataError
from exporter.ids import is_id
from exporter.profile import Profile
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import ACTIVE, RequestState, TaskState, check_transition
from exporter.service.queue import JobSpec

__all__ = [
    "Conflict",
    "NewRequest",
    "NotFound",
    "Scope",
    "cancel_request",
    "collect_job_id",
    "create_request",
    "create_requests",
    "extend_deadline",
    "get_request",
    "list_requests",
    "new_request",
    "retry_source",
    "scoped_profile",
    "transition",
]

log = logging.getLogger(__name__)

class NotFound(EgneDataError):
    """No such request (or not one the caller may see)."""


class Conflict(EgneDataError):
    """The request is not in a state that allows this, or an idempotency key was reused."""


class UnknownDataset(EgneDataError, ValueError):
    """A dataset id that the municipality's profile does not have."""


@dataclass(frozen=True)
class Scope:
    """What a request asks for: some or all datasets, optionally within a period."""

    datasets: tuple[str, ...] | None = None
    period_from: date | None = None
    period_to: date | None = None


def scoped_profile(profile: Profile, datasets: Sequence[str] | None) -> Profile:
    """The profile narrowed to ``datasets`` (all when None); sources left empty drop out."""
    if datasets is None:
        return profile
    wanted = set(datasets)
    sources = tuple(
        s.model_copy(update={"datasets": tuple(d for d in s.datasets if d.id in wanted)})
        for s in profile.sources
        if any(d.id in wanted for d in s.datasets)
    )
    return profile.model_copy(update={"sources": sources})


def collect_job_id(task: SourceTask) -> str:
    """The id of the job that runs the task's next attempt."""
    return f"collect-{task.id}-{task.attempt + 1}"


def assemble_job_id(request: Request) -> str:
    return f"assemble-{request.id}-{request.assemble_attempt + 1}"


def transition(
    session: Session,
    request: Request,
    wanted: RequestState,
    actor: Actor,
    *,
    now: datetime,
    detail: dict[str, object] | None = None,
) -> bool:
    """Move ``request`` to ``wanted`` if it is still in the state we read; audited.

    Returns False (and changes nothing) when another process moved it first.
    """
    current = request.state
    check_transition(current, wanted)
    result = session.execute(_TRANSITION, {
        "request_id": request.id, "current": current, "wanted": wanted.value, "now": now,
    })
    if getattr(result, "rowcount", 0) != 1:
        return False
    # As the database has it now: the object is not left with a change to write again.
    set_committed_value(request, "state", wanted.value)
    set_committed_value(request, "state_changed_at", now)
    audit.record(
        session, actor, f"request.{wanted.value}", request_id=request.id,
        detail={"from": current, **(detail or {})}, at=now,
    )
    return True


def _body_hash(cpr: Cpr, scope: Scope) -> str:
    body = orjson.dumps(
        {
            "cpr": cpr.digits,
            "datasets": sorted(scope.datasets) if scope.datasets is not None else None,
            "from": scope.period_from,
            "to": scope.period_to,
        }
    )
    return hashlib.sha256(body).hexdigest()


def _check_scope(profile: Profile, scope: Scope) -> None:
    known = {d.id for s in profile.sources for d in s.datasets}
    if scope.datasets is not None:
        unknown = sorted(set(scope.datasets) - known)
        if unknown:
            raise UnknownDataset(
                f"unknown dataset {', '.join(unknown)}; this municipality has: "
                f"{', '.join(sorted(known))}"
            )
        if not scope.datasets:
            raise UnknownDataset("ask for at least one dataset, or leave datasets out for all")
    if scope.period_from and scope.period_to and scope.period_from > scope.period_to:
        raise UnknownDataset("the period's start is after its end")


@dataclass
class NewRequest:
    """A request checked and made ready to store: its row, its tasks and who asked."""

    request: Request
    tasks: list[SourceTask]
    actor: Actor


def new_request(
    context: ServiceContext,
    actor: Actor,
    cpr: Cpr,
    scope: Scope,
    *,
    idempotency_key: str | None = None,
    assurance_level: str | None = None,
    channel: str | None = None,
    channel_note: str | None = None,
    now: datetime | None = None,
) -> NewRequest:
    """Check ``scope`` against the profile (:class:`UnknownDataset`) and make the rows.
    ``assurance_level``: the NSIS level of the login that asked, kept with the request;
    ``channel`` and ``channel_note``: how a request a caseworker registers came in."""
    now = now or datetime.now(UTC)
    _check_scope(context.profile, scope)
    profile = scoped_profile(context.profile, scope.datasets)
    request = Request(
        id=str(uuid.uuid4()),
        subject_cpr=cpr.digits,
        requested_by=actor.subject,
        requester_role=actor.role,
        datasets=list(scope.datasets) if scope.datasets is not None else None,
        period_from=scope.period_from,
        period_to=scope.period_to,
        received_at=now,
        deadline=response_deadline(danish_date(now)),
        state=RequestState.RECEIVED.value,
        state_changed_at=now,
        generation=1,
        assemble_attempt=0,
        idempotency_key=idempotency_key,
        body_hash=_body_hash(cpr, scope),
        assurance_level=assurance_level,
        channel=channel,
        channel_note=channel_note,
    )
    tasks = [
        SourceTask(
            id=str(uuid.uuid4()), request_id=request.id, source_id=source.id,
            state=TaskState.PENDING.value, attempt=0, enqueued_at=now,
            records_fetched=0, records_accepted=0, records_rejected=0,
        )
        for source in profile.sources
    ]
    return NewRequest(request, tasks, actor)


def create_request(
    context: ServiceContext,
    actor: Actor,
    cpr: Cpr,
    scope: Scope,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> tuple[Request, bool]:
    """A new request and its source tasks, queued; or the earlier one for the same key.

    Returns the request and whether it was created now. Reusing an idempotency key
    for a different request body is a :class:`Conflict`.
    """
    new = new_request(context, actor, cpr, scope, idempotency_key=idempotency_key, now=now)
    return _create_one(context, new)


def create_requests(
    context: ServiceContext, news: Sequence[NewRequest]
) -> list[tuple[Request, bool] | Exception]:
    """Store and queue several new requests in one transaction; for each, what
    :func:`create_request` would return or raise.

    If the transaction fails for any reason but a lost connection (a repeated
    idempotency key, a deadlock with another batch), each request is stored on its own,
    so each gets its own answer. If the connection was lost, each gets that error. If
    queueing fails, every request was stored and each gets the error (the reconciler
    queues them later).
    """
    if len(news) == 1:
        return [_outcome(context, news[0])]
    try:
        with context.sessions.begin() as session:
            _insert(session, news)
    except SQLAlchemyError as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return [exc] * len(news)
        return [_outcome(context, new) for new in news]
    try:
        _stored(context, news)
    except Exception as exc:  # handed to every caller in the batch
        log.warning("%d new requests were stored but queueing their jobs failed (%s); "
                    "the reconciler queues them", len(news), type(exc).__name__)
        return [exc] * len(news)
    return [(new.request, True) for new in news]


def _outcome(context: ServiceContext, new: NewRequest) -> tuple[Request, bool] | Exception:
    try:
        return _create_one(context, new)
    except Exception as exc:  # handed to the caller who asked
        return exc


def _create_one(context: ServiceContext, new: NewRequest) -> tuple[Request, bool]:
    request = new.request
    try:
        with context.sessions.begin() as session:
            _insert(session, [new])
    except IntegrityError:
        # A repeated Idempotency-Key is found by the unique constraint: looking first
        # would cost every new request a round trip to the database.
        if request.idempotency_key is None:
            raise
        earlier = _by_idempotency_key(context, request.requested_by,
                                      request.idempotency_key, request.body_hash or "")
        if earlier is None:
            raise
        return earlier, False
    _stored(context, [new])
    return request, True


def _insert(session: Session, news: Sequence[NewRequest]) -> None:
    # Core inserts: the ORM's unit of work costs more than the rows themselves on this
    # path, which every new request takes.
    session.execute(_INSERT_REQUEST, [_row(new.request) for new in news])
    session.execute(_INSERT_TASK, [_row(task) for new in news for task in new.tasks])
    audit.record_all(session, [
        audit.event(new.actor, "request.received", request_id=new.request.id,
                    detail={"datasets": new.request.datasets,
                            "sources": [t.source_id for t in new.tasks],
                            "assurance_level": new.request.assurance_level,
                            **({"channel": new.request.channel}
                               if new.request.channel else {})},
                    at=new.request.received_at)
        for new in news
    ])


def _stored(context: ServiceContext, news: Sequence[NewRequest]) -> None:
    """After the commit: mark the rows as stored, and queue their collect jobs."""
    for new in news:
        set_committed_value(new.request, "tasks", new.tasks)
        set_committed_value(new.request, "package", None)
    context.queue.enqueue_many(
        [collect_job(context, task) for new in news for task in new.tasks])


_REQUESTS = table_of(Request)
_INSERT_REQUEST = _REQUESTS.insert()
_INSERT_TASK = table_of(SourceTask).insert()
# The statements every job runs are built once: SQLAlchemy then finds their compiled
# form without walking a new statement each time, which cost more than running it.
_TRANSITION = (
    update(_REQUESTS)
    .where(_REQUESTS.c.id == bindparam("request_id"), _REQUESTS.c.state == bindparam("current"))
    .values(state=bindparam("wanted"),
            state_changed_at=bindparam("now", type_=_REQUESTS.c.state_changed_at.type))
)
_LOCK_REQUEST = select(Request).where(Request.id == bindparam("request_id")).with_for_update()
_LOCK_REQUEST_ALONE = _LOCK_REQUEST.options(lazyload("*"))


def _row(obj: Request | SourceTask) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in table_of(type(obj)).columns}


def _by_idempotency_key(
    context: ServiceContext, requested_by: str, key: str, body_hash: str
) -> Request | None:
    with context.sessions() as session:
        earlier = session.scalars(
            select(Request).where(
                Request.requested_by == requested_by, Request.idempotency_key == key
            )
        ).one_or_none()
    if earlier is not None and earlier.body_hash != body_hash:
        raise Conflict("this Idempotency-Key was already used for a different request")
    return earlier


def get_request(context: ServiceContext, request_id: str, *, cpr_digits: str) -> Request:
    """The request, if it is about ``cpr_digits``; :class:`NotFound` otherwise, as if it
    did not exist (a citizen learns nothing of another's requests)."""
    if not is_id(request_id):
        raise NotFound("no such request")
    with context.sessions() as session:
        row = session.get(Request, request_id)
    if row is None or row.subject_cpr != cpr_digits:
        raise NotFound("no such request")
    return row


def list_requests(context: ServiceContext, cpr_digits: str, *, limit: int = 200,
                  related: bool = True) -> Sequence[Request]:
    """The requests about ``cpr_digits``, newest first; ``related=False`` leaves their
    tasks and package out (one query instead of three, for a short list)."""
    query = select(Request).where(Request.subject_cpr == cpr_digits) \
        .order_by(Request.received_at.desc()).limit(limit)
    if not related:
        query = query.options(lazyload("*"))
    with context.sessions() as session:
        return session.scalars(query).all()


def collect_job(context: ServiceContext, task: SourceTask) -> JobSpec:
    source = context.profile.source(task.source_id)
    timeout = source.timeout_seconds + context.settings.lease_seconds
    return JobSpec("collect", collect_job_id(task), (task.id, task.attempt + 1), timeout)


def enqueue_collect(context: ServiceContext, task: SourceTask) -> None:
    context.queue.enqueue_many([collect_job(context, task)])


def enqueue_assemble(context: ServiceContext, request: Request) -> None:
    context.queue.enqueue(
        "assemble", assemble_job_id(request), request.id, request.assemble_attempt + 1,
        timeout=3600,
    )


def lock_request(session: Session, request_id: str, *, related: bool = True) -> Request | None:
    """The request with its row locked until the transaction ends, or None.

    Every change to a request's state takes this lock first. ``related=False`` leaves
    its tasks and package unloaded until they are used.
    """
    query = _LOCK_REQUEST if related else _LOCK_REQUEST_ALONE
    return session.scalars(query, {"request_id": request_id}).one_or_none()


def _locked(session: Session, request_id: str) -> Request:
    request = lock_request(session, request_id)
    if request is None:
        raise NotFound("no such request")
    return request


def cancel_request(
    context: ServiceContext, actor: Actor, request_id: str, *, reason: str | None = None,
    now: datetime | None = None,
) -> Request:
    """Cancel a request that is still running or has failed; ``reason`` is kept in the
    audit log (a caseworker gives one)."""
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        request = _locked(session, request_id)
        if RequestState(request.state) not in ACTIVE | {RequestState.FAILED}:
            raise Conflict(f"a request that is {request.state} cannot be cancelled")
        transition(session, request, RequestState.CANCELLED, actor, now=now,
                   detail={"reason": reason} if reason else None)
        session.execute(
            update(SourceTask)
            .where(SourceTask.request_id == request.id,
                   SourceTask.state.in_([TaskState.PENDING.value, TaskState.RUNNING.value]))
            .values(state=TaskState.CANCELLED.value, finished_at=now, lease_until=None)
        )
    return request


def extend_deadline(
    context: ServiceContext,
    actor: Actor,
    request_id: str,
    months: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> Request:
    """Extend by up to two months in all (Art. 12(3)), within the first month (the
    citizen must be told by then); the reason is kept and audited."""
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        request = _locked(session, request_id)
        if RequestState(request.state) not in ACTIVE:
            raise Conflict(f"a request that is {request.state} has no deadline to extend")
        received = danish_date(request.received_at)
        if not extension_allowed(received, danish_date(now)):
            raise Conflict("a deadline can only be extended within the first month, "
                           f"by {request.deadline.isoformat()}")
        already = extension_months(received, request.extended_deadline)
        if months < 1 or already + months > MAX_EXTENSION_MONTHS:
            raise Conflict(
                f"a deadline may be extended by at most {MAX_EXTENSION_MONTHS} months in all "
                f"({already} used)"
            )
        request.extended_deadline = response_deadline(received, already + months)
        request.extension_reason = reason
        audit.record(
            session, actor, "request.deadline_extended", request_id=request.id,
            detail={"months": months, "deadline": request.extended_deadline.isoformat(),
                    "reason": reason},
            at=now,
        )
    return request


def retry_source(
    context: ServiceContext,
    actor: Actor,
    request_id: str,
    source_id: str,
    *,
    now: datetime | None = None,
) -> Request:
    """Collect a failed source again and rebuild the package with it."""
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        request = _locked(session, request_id)
        task = next((t for t in request.tasks if t.source_id == source_id), None)
        if task is None:
            raise NotFound(f"this request has no source {source_id!r}")
        if task.state != TaskState.FAILED.value:
            raise Conflict(f"source {source_id!r} is {task.state}; only a failed one is retried")
        if request.state not in (RequestState.READY_WITH_GAPS, RequestState.FAILED):
            raise Conflict(f"a request that is {request.state} cannot retry a source now")
        transition(session, request, RequestState.COLLECTING, actor, now=now,
                   detail={"retry": source_id})
        request.generation += 1
        task.state, task.enqueued_at, task.last_error = TaskState.PENDING.value, now, None
        task.lease_until = None
    enqueue_collect(context, task)
    return request
