"""The append-only, hash-chained audit log.

An event is written in the transaction of the change it records, as a plain insert:
writers never wait for each other. A *sealer* then chains events in the order they were
written: it gives each its place (``seq``) and a hash covering the previous event's hash
and the event itself in a canonical JSON form, so changing, removing or reordering any
sealed event breaks every hash after it, and :func:`verify_chain` finds where. Sealing
is serialised by locking the single ``audit_head`` row (``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so a second sealer moves on at once; SQLite's transactions
already begin with the write lock). Every server and worker seals every
``audit_seal_interval_seconds`` (see :mod:`exporter.service.background`).

Details hold ids, counts and reasons, never record contents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from exporter.db.models import AuditEvent, AuditHead, table_of

__all__ = ["ACTIONS", "GENESIS", "Actor", "ChainCheck", "event", "record", "record_all", "seal",
           "seal_all", "verify_chain"]

GENESIS = "0" * 64
SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who did something, in which role, and for whom."""

    subject: str
    role: str
    on_behalf_of: str | None = None


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM)

ACTIONS = frozenset({
    # A request's life: one event per state it enters (exporter.service.lifecycle).
    "request.received", "request.collecting", "request.assembling", "request.ready",
    "request.ready_with_gaps", "request.failed", "request.cancelled", "request.expired",
    "request.deadline_extended", "request.refused",
    "source.collected", "source.failed", "package.downloaded", "package.deleted",
    # Sharing: the registry, consents, mandates and deliveries.
    "service.registered", "service.suspended", "service.resumed",
    "consent.given", "consent.used", "consent.revoked",
    "mandate.granted", "mandate.revoked",
    "delivery.created", "delivery.retried", "delivery.retry_wait", "delivery.pending",
    "delivery.sending", "delivery.delivered", "delivery.dead_letter", "delivery.cancelled",
    "push.refused",
    # Acting on your data: flags, contributions, correction notices (Art. 19).
    "flag.received", "flag.statement_added", "flag.evidence_added", "flag.in_review",
    "flag.corrected", "flag.annotated", "flag.rejected", "flag.withdrawn",
    "flag.deadline_extended", "evidence.read",
    "contribution.added", "contribution.evidence_added", "contribution.withdrawn",
    "contribution.seen",
    "notice.pending", "notice.sending", "notice.retry_wait", "notice.delivered",
    "notice.dead_letter", "notice.cancelled",
    # The pages: logging in and out, and refused forms.
    "login.succeeded", "login.refused", "login.next_refused", "logout", "csrf.refused",
    "forms.limited",
    # The console: employees logging in and out, what they open, the audit log itself.
    "staff.login.succeeded", "staff.logout", "request.viewed", "flag.viewed",
    "audit.verified", "audit.exported", "staff.refused",
})
"""Every action the log records; each is documented in docs/service.md (a test checks)."""


_EVENTS = table_of(AuditEvent)
_HEADS = table_of(AuditHead)
_INSERT = _EVENTS.insert()
_SEAL = (update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))
         .values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev_hash"),
                 hash=bindparam("new_hash")))
_CANONICAL = ("at", "actor", "actor_role", "on_behalf_of", "action", "request_id", "detail")


def _digest(prev_hash: str, event: Mapping[str, Any]) -> str:
    body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def _canonical(seq: int, event: Any) -> dict[str, Any]:
    """What an event's hash covers: its place in the chain and its contents."""
    return {
        "seq": seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "on_behalf_of": event.on_behalf_of,
        "action": event.action,
        "request_id": event.request_id,
        "detail": event.detail,
    }


def event(
    actor: Actor,
    action: str,
    *,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An event as :func:`record_all` takes it. ``action`` is one of :data:`ACTIONS`."""
    if action not in ACTIONS:
        raise ValueError(f"{action!r} is not an audit action (add it to audit.ACTIONS)")
    return {
        "at": at or datetime.now(UTC),
        "actor": actor.subject,
        "actor_role": actor.role,
        "on_behalf_of": actor.on_behalf_of,
        "action": action,
        "request_id": request_id,
        "detail": dict(detail or {}),
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event in the caller's transaction (committed with it or not at all).

    A Core insert, with no lock: the event joins the chain when it is sealed.
    """
    session.execute(_INSERT, event(actor, action, request_id=request_id, detail=detail, at=at))


def record_all(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Append several events (made by :func:`event`) in the caller's transaction."""
    session.execute(_INSERT, list(events))


def seal(session: Session, *, batch: int = 1000) -> int:
    """Chain up to ``batch`` unsealed events, in the order they were written.

    Runs in the caller's transaction. Returns how many were sealed: 0 as well when
    another sealer holds the chain's head (PostgreSQL), which then seals them itself.
    """
    head = session.execute(
        select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.id == 1)
        .with_for_update(skip_locked=True)
    ).one_or_none()
    if head is None:
        if session.execute(select(_HEADS.c.id).where(_HEADS.c.id == 1)).first() is None:
            raise RuntimeError("the audit log has no head row: run `egnedata db upgrade`")
        return 0
    events = session.execute(
        select(_EVENTS.c.id, *(_EVENTS.c[name] for name in _CANONICAL))
        .where(_EVENTS.c.seq.is_(None)).order_by(_EVENTS.c.id).limit(batch)
    ).all()
    if not events:
        return 0
    seq, prev = head.seq, head.hash
    sealed = []
    for event in events:
        seq += 1
        digest = _digest(prev, _canonical(seq, event))
        sealed.append({"event_id": event.id, "new_seq": seq, "new_prev_hash": prev,
                       "new_hash": digest})
        prev = digest
    session.execute(_SEAL, sealed)
    session.execute(update(_HEADS).where(_HEADS.c.id == 1).values(seq=seq, hash=prev))
    return len(sealed)


def unsealed(session: Session) -> int:
    """How many events are waiting to be sealed."""
    return session.scalar(select(func.count()).select_from(_EVENTS)
                          .where(_EVENTS.c.seq.is_(None))) or 0


def seal_all(begin: Callable[[], AbstractContextManager[Session]], *,
             batch: int = 1000) -> int:
    """Seal every event written so far, a batch per transaction; how many were sealed.

    ``begin`` opens a transaction (``sessions.begin``). Cheap when there is nothing to
    seal: it looks before it takes the lock.
    """
    total = 0
    while True:
        with begin() as session:
            if not session.execute(select(_EVENTS.c.id).where(_EVENTS.c.seq.is_(None))
                                   .limit(1)).first():
                return total
            count = seal(session, batch=batch)
        total += count
        if count < batch:
            return total


@dataclass(frozen=True)
class ChainCheck:
    events: int
    ok: bool
    broken_at: int | None = None
    problem: str | None = None
    unsealed: int = 0


def verify_chain(session: Session, *, batch: int = 1000) -> ChainCheck:
    """Recompute every sealed event's hash in order; report the first that does not fit.

    Events not sealed yet are counted (``unsealed``), not checked.
    """
    prev, count, last_seq = GENESIS, 0, 0
    while True:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not events:
            break
        for event in events:
            assert event.seq is not None
            if event.seq != last_seq + 1:
                return ChainCheck(count, False, event.seq, f"event {last_seq + 1} is missing")
            if event.prev_hash != prev:
                return ChainCheck(count, False, event.seq, "does not follow the event before")
            if _digest(prev, _canonical(event.seq, event)) != event.hash:
                return ChainCheck(count, False, event.seq, "its contents were changed")
            prev, last_seq, count = event.hash, event.seq, count + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (last_seq, prev):
        return ChainCheck(count, False, last_seq + 1, "events after this one were removed")
    return ChainCheck(count, True, unsealed=unsealed(session))
