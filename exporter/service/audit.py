"""The append-only, hash-chained audit log.

Each event's hash covers the previous event's hash and the event itself in a
canonical JSON form, so changing, removing or reordering any past event breaks every
hash after it: :func:`verify_chain` finds where. Appends are serialised by locking the
single ``audit_head`` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
transactions already begin with the write lock).

Details hold ids, counts and reasons, never record contents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from exporter.db.models import AuditEvent, AuditHead

__all__ = ["GENESIS", "Actor", "ChainCheck", "record", "verify_chain"]

GENESIS = "0" * 64
SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who did something, in which role, and for whom."""

    subject: str
    role: str
    on_behalf_of: str | None = None


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM)


def _digest(prev_hash: str, event: Mapping[str, Any]) -> str:
    body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def _canonical(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "on_behalf_of": event.on_behalf_of,
        "action": event.action,
        "request_id": event.request_id,
        "detail": event.detail,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    request_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (committed with it or not at all).

    Core statements, not the ORM's unit of work: this runs in every transaction that
    changes state, and holds the log's one lock while it does.
    """
    session.flush()  # the caller's own writes first, before the lock is taken
    heads = cast(Table, AuditHead.__table__)
    row = session.execute(
        select(heads.c.seq, heads.c.hash).where(heads.c.id == 1).with_for_update()
    ).one_or_none()
    if row is None:
        raise RuntimeError("the audit log has no head row: run `egnedata db upgrade`")
    event = AuditEvent(
        seq=row.seq + 1,
        at=at or datetime.now(UTC),
        actor=actor.subject,
        actor_role=actor.role,
        on_behalf_of=actor.on_behalf_of,
        action=action,
        request_id=request_id,
        detail=dict(detail or {}),
        prev_hash=row.hash,
        hash="",
    )
    event.hash = _digest(row.hash, _canonical(event))
    columns = ("seq", "at", "actor", "actor_role", "on_behalf_of", "action", "request_id",
               "detail", "prev_hash", "hash")
    session.execute(
        cast(Table, AuditEvent.__table__).insert().values({c: getattr(event, c) for c in columns})
    )
    session.execute(
        update(heads).where(heads.c.id == 1).values(seq=event.seq, hash=event.hash)
    )
    return event


@dataclass(frozen=True)
class ChainCheck:
    events: int
    ok: bool
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(session: Session, *, batch: int = 1000) -> ChainCheck:
    """Recompute every hash in order; report the first event that does not fit."""
    prev, count, last_seq = GENESIS, 0, 0
    while True:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not events:
            break
        for event in events:
            if event.seq != last_seq + 1:
                return ChainCheck(count, False, event.seq, f"event {last_seq + 1} is missing")
            if event.prev_hash != prev:
                return ChainCheck(count, False, event.seq, "does not follow the event before")
            if _digest(prev, _canonical(event)) != event.hash:
                return ChainCheck(count, False, event.seq, "its contents were changed")
            prev, last_seq, count = event.hash, event.seq, count + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (last_seq, prev):
        return ChainCheck(count, False, last_seq + 1, "events after this one were removed")
    return ChainCheck(count, True)
