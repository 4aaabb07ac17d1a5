"""Flags: a citizen (or a representative) objects to a record, or one field of it, as
the package showed it (GDPR Art. 16), and a caseworker answers within the deadline.

Each change is one transaction with its audit event. A flag is raised against a record
the citizen's own stored package holds (:func:`~exporter.flags.records.find_record`);
the record as it was shown is kept with the flag. While a flag is open the record is
disputed (Art. 18): :func:`disputed_records` tells the package. Deciding "corrected"
queues a correction notice to every service that received the record (Art. 19,
:mod:`exporter.flags.notices`) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exporter.db.models import Evidence, Flag, FlagStatement
from exporter.deadlines import (
    MAX_EXTENSION_MONTHS,
    danish_date,
    extension_allowed,
    extension_months,
    response_deadline,
)
from exporter.errors import EgneDataError
from exporter.flags.evidence import store_evidence
from exporter.flags.notices import enqueue_notice, plan_notices
from exporter.flags.records import find_record, responsible_unit
from exporter.flags.states import DECISIONS, OPEN, FlagState, check_flag_transition
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.overview_keys import forget_overview
from exporter.service.requests import Conflict, NotFound
from formats.records import record_types

__all__ = [
    "FlagSpec",
    "InvalidFlag",
    "add_flag_evidence",
    "decide_flag",
    "disputed_records",
    "extend_flag",
    "flag_queue",
    "get_flag",
    "list_flags",
    "raise_flag",
    "take_flag",
    "withdraw_flag",
]

MIN_TEXT, MAX_TEXT, MIN_ANSWER = 3, 4000, 10


class InvalidFlag(EgneDataError, ValueError):
    """A flag's text or field is not acceptable (answered with 422)."""


@dataclass(frozen=True)
class FlagSpec:
    """An objection: the record (by ``@id``) in the package it was seen in, optionally
    one field of it, what is wrong and (optionally) what is right."""

    package_id: str
    record_id: str
    wrong: str
    right: str | None = None
    field: str | None = None


def _text(value: str | None, what: str, *, required: bool, minimum: int = MIN_TEXT
          ) -> str | None:
    # A NUL cannot be stored (PostgreSQL refuses it); the rest is kept as written and
    # made inert where it is shown.
    text = (value or "").replace("\x00", "").strip()
    if not text and not required:
        return None
    if not minimum <= len(text) <= MAX_TEXT:
        raise InvalidFlag(f"{what} is {minimum} to {MAX_TEXT} characters")
    return text


def _statement(flag: Flag, actor: Actor, wrong: str, right: str | None,
               now: datetime) -> FlagStatement:
    return FlagStatement(id=str(uuid.uuid4()), flag_id=flag.id, at=now, author=actor.subject,
                         author_role=actor.role, wrong=wrong, right=right)


def _open_flag(session: Session, cpr_digits: str, record_id: str) -> Flag | None:
    return session.scalars(
        select(Flag).where(Flag.subject_cpr == cpr_digits, Flag.record_id == record_id,
                           Flag.state.in_([s.value for s in OPEN]))
        .with_for_update()).one_or_none()


def raise_flag(context: ServiceContext, actor: Actor, cpr_digits: str, spec: FlagSpec,
               *, now: datetime | None = None) -> tuple[Flag, bool]:
    """A new flag, or the record's open flag with this statement added; whether it is new.
    :class:`NotFound` for a record or package that is not the citizen's."""
    now = now or datetime.now(UTC)
    wrong = _text(spec.wrong, "what is wrong", required=True)
    assert wrong is not None
    right = _text(spec.right, "what is right", required=False)
    found = find_record(context, cpr_digits, spec.package_id, spec.record_id)
    if spec.field is not None and spec.field not in (
            f.name for f in record_types()[found.record_type].fields):
        raise InvalidFlag(f"a {found.record_type} has no field {spec.field[:60]!r}")
    for _ in range(2):  # a race for the record's one open flag is lost at most once
        try:
            with context.sessions.begin() as session:
                flag = _open_flag(session, cpr_digits, spec.record_id)
                if flag is not None:
                    session.add(_statement(flag, actor, wrong, right, now))
                    audit.record(session, actor, "flag.statement_added", at=now,
                                 detail={"flag": flag.id})
                    return flag, False
                flag = Flag(
                    id=str(uuid.uuid4()), subject_cpr=cpr_digits, record_id=spec.record_id,
                    field=spec.field, package_id=found.package.id,
                    dataset_id=found.dataset_id, source_id=found.source_id,
                    unit=responsible_unit(found.record), record=found.record,
                    state=FlagState.RECEIVED.value, received_at=now,
                    deadline=response_deadline(danish_date(now)), created_by=actor.subject,
                    created_by_role=actor.role, state_changed_at=now,
                )
                session.add(flag)
                session.flush()
                session.add(_statement(flag, actor, wrong, right, now))
                forget_overview(session, context, cpr_digits)
                audit.record(session, actor, "flag.received", at=now, detail={
                    "flag": flag.id, "dataset": found.dataset_id, "field": spec.field,
                    "deadline": flag.deadline.isoformat()})
            return flag, True
        except IntegrityError:
            continue
    raise Conflict("the record's flag changed meanwhile; try again")


def _locked(session: Session, flag_id: str, cpr_digits: str | None = None) -> Flag:
    flag = session.scalars(select(Flag).where(Flag.id == flag_id).with_for_update()
                           ).one_or_none() if is_id(flag_id) else None
    if flag is None or (cpr_digits is not None and flag.subject_cpr != cpr_digits):
        raise NotFound("no such flag")
    return flag


def _move(session: Session, flag: Flag, wanted: FlagState, actor: Actor, now: datetime,
          **detail: object) -> None:
    check_flag_transition(flag.state, wanted)
    current = flag.state
    flag.state, flag.state_changed_at = wanted.value, now
    audit.record(session, actor, f"flag.{wanted.value}", at=now,
                 detail={"flag": flag.id, "from": current, **detail})


def withdraw_flag(context: ServiceContext, actor: Actor, cpr_digits: str, flag_id: str,
                  *, now: datetime | None = None) -> Flag:
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        flag = _locked(session, flag_id, cpr_digits)
        _move(session, flag, FlagState.WITHDRAWN, actor, now)
    return flag


def take_flag(context: ServiceContext, actor: Actor, flag_id: str,
              *, now: datetime | None = None) -> Flag:
    """A caseworker takes the flag into review."""
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        flag = _locked(session, flag_id)
        _move(session, flag, FlagState.IN_REVIEW, actor, now)
        flag.assigned_to = actor.subject
    return flag


def decide_flag(context: ServiceContext, actor: Actor, flag_id: str, outcome: FlagState,
                answer: str, *, now: datetime | None = None) -> Flag:
    """Corrected, annotated or rejected, with the answer the citizen reads. Corrected
    queues a correction notice to each service that received the record (Art. 19)."""
    now = now or datetime.now(UTC)
    if outcome not in DECISIONS:
        raise InvalidFlag(f"a decision is one of {', '.join(sorted(DECISIONS))}")
    text = _text(answer, "the answer", required=True, minimum=MIN_ANSWER)
    with context.sessions.begin() as session:
        flag = _locked(session, flag_id)
        _move(session, flag, outcome, actor, now)
        flag.decided_at, flag.decided_by, flag.answer = now, actor.subject, text
        notices = plan_notices(session, context, flag, now) \
            if outcome is FlagState.CORRECTED else []
    for notice in notices:
        enqueue_notice(context, notice)
    return flag


def extend_flag(context: ServiceContext, actor: Actor, flag_id: str, months: int,
                reason: str, *, now: datetime | None = None) -> Flag:
    """Extend by up to two months in all, within the first month; the citizen sees why."""
    now = now or datetime.now(UTC)
    text = _text(reason, "the reason", required=True, minimum=MIN_ANSWER)
    with context.sessions.begin() as session:
        flag = _locked(session, flag_id)
        if FlagState(flag.state) not in OPEN:
            raise Conflict(f"a flag that is {flag.state} has no deadline to extend")
        received = danish_date(flag.received_at)
        if not extension_allowed(received, danish_date(now)):
            raise Conflict("a deadline can only be extended within the first month")
        already = extension_months(received, flag.extended_deadline)
        if months < 1 or already + months > MAX_EXTENSION_MONTHS:
            raise Conflict(f"a deadline may be extended by at most {MAX_EXTENSION_MONTHS} "
                           f"months in all ({already} used)")
        flag.extended_deadline = response_deadline(received, already + months)
        flag.extension_reason = text
        audit.record(session, actor, "flag.deadline_extended", at=now, detail={
            "flag": flag.id, "months": months, "deadline": flag.extended_deadline.isoformat()})
    return flag


def add_flag_evidence(context: ServiceContext, actor: Actor, cpr_digits: str, flag_id: str,
                      source: IO[bytes], filename: str, *, now: datetime | None = None
                      ) -> Evidence:
    """Attach a file to an open flag (checked and stored encrypted first)."""
    now = now or datetime.now(UTC)
    with context.sessions() as session:
        flag = session.get(Flag, flag_id) if is_id(flag_id) else None
    if flag is None or flag.subject_cpr != cpr_digits:
        raise NotFound("no such flag")
    if FlagState(flag.state) not in OPEN:
        raise Conflict(f"a flag that is {flag.state} takes no more evidence")
    stored = store_evidence(context, source, filename)
    evidence = Evidence(id=stored.id, subject_cpr=cpr_digits, flag_id=flag.id,
                        contribution_id=None, blob_key=stored.blob_key,
                        media_type=stored.media_type, size=stored.size, sha256=stored.sha256,
                        filename=stored.filename, uploaded_at=now, uploaded_by=actor.subject)
    with context.sessions.begin() as session:
        session.add(evidence)
        audit.record(session, actor, "flag.evidence_added", at=now, detail={
            "flag": flag.id, "evidence": evidence.id, "media_type": stored.media_type,
            "size": stored.size})
    return evidence


def get_flag(context: ServiceContext, flag_id: str, *, cpr_digits: str | None = None) -> Flag:
    """The flag (with its statements and evidence); :class:`NotFound` if it is another
    citizen's (when ``cpr_digits`` is given)."""
    with context.sessions() as session:
        flag = session.get(Flag, flag_id) if is_id(flag_id) else None
    if flag is None or (cpr_digits is not None and flag.subject_cpr != cpr_digits):
        raise NotFound("no such flag")
    return flag


def list_flags(context: ServiceContext, cpr_digits: str) -> Sequence[Flag]:
    """The citizen's flags, newest first."""
    with context.sessions() as session:
        return session.scalars(select(Flag).where(Flag.subject_cpr == cpr_digits)
                               .order_by(Flag.received_at.desc()).limit(500)).all()


def flag_queue(context: ServiceContext, *, states: Sequence[str] | None = None,
               units: Sequence[str] | None = None, limit: int = 200,
               offset: int = 0) -> Sequence[Flag]:
    """Flags for caseworkers: open ones (or ``states``) by deadline, the earliest first;
    only those of ``units`` when a caseworker is limited to some."""
    wanted = list(states) if states else [s.value for s in OPEN]
    query = select(Flag).where(Flag.state.in_(wanted))
    if units is not None:
        query = query.where(Flag.unit.in_(units))
    with context.sessions() as session:
        return session.scalars(
            query.order_by(func.coalesce(Flag.extended_deadline, Flag.deadline), Flag.id)
            .limit(limit).offset(offset)).all()


def in_units(flag: Flag, units: Sequence[str] | None) -> Flag:
    """``flag``, if a caseworker limited to ``units`` may see it; :class:`NotFound`
    otherwise (as if it did not exist)."""
    if units is not None and flag.unit not in units:
        raise NotFound("no such flag")
    return flag


def disputed_records(context: ServiceContext, cpr_digits: str) -> dict[str, str]:
    """Every record of the citizen with a flag: its id, and the newest flag's state."""
    with context.sessions() as session:
        rows = session.execute(select(Flag.record_id, Flag.state)
                               .where(Flag.subject_cpr == cpr_digits)
                               .order_by(Flag.received_at)).all()
    return {row.record_id: row.state for row in rows}
