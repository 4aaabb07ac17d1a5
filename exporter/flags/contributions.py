"""Contributions: what a citizen adds of their own to a case or a record: a statement,
a correction of their own account, a document (a doctor's statement, a receipt).

They are the citizen's, kept apart from the municipality's records: later packages carry
them as the dataset "Dine bidrag" with the citizen as creator. A caseworker sees the new
ones (:func:`unseen_contributions`) and marks each seen. A citizen may withdraw one;
it then leaves later packages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import func, select

from exporter.db.models import Contribution, Evidence
from exporter.errors import EgneDataError
from exporter.flags.evidence import store_evidence
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.overview_keys import forget_overview
from exporter.service.requests import Conflict, NotFound

__all__ = [
    "KINDS",
    "ContributionSpec",
    "InvalidContribution",
    "add_contribution",
    "add_contribution_evidence",
    "get_contribution",
    "list_contributions",
    "mark_seen",
    "unseen_contributions",
    "withdraw_contribution",
]

KINDS = ("statement", "correction", "document")
"""A statement of the citizen's own, a correction of their own account, a document."""
_MAX_TEXT = 8000
_RECORD_ID = re.compile(r"urn:egnedata:[0-9]{4}:[a-z0-9-]+:[a-z-]+:[A-Za-z0-9._~%-]{1,200}")
"""A record's ``@id``, as the record types' ``recordRef`` has it (``common.schema.json``):
an ``about`` the package could not carry is refused here, not dropped later."""


class InvalidContribution(EgneDataError, ValueError):
    """A contribution's kind, title, text or target is not acceptable (422)."""


@dataclass(frozen=True)
class ContributionSpec:
    kind: str
    title: str
    text: str
    about: str | None = None
    """The ``@id`` of the case or record it is about, if any."""


def _clean(value: str) -> str:
    """Text as kept: as written, but for a NUL, which PostgreSQL refuses (the rest is
    made inert where it is shown)."""
    return value.replace("\x00", "").strip()


def _check(spec: ContributionSpec) -> tuple[str, str, str | None]:
    if spec.kind not in KINDS:
        raise InvalidContribution(f"a contribution is one of {', '.join(KINDS)}")
    title, text = _clean(spec.title), _clean(spec.text)
    if not 3 <= len(title) <= 200:
        raise InvalidContribution("a title is 3 to 200 characters")
    if not 3 <= len(text) <= _MAX_TEXT:
        raise InvalidContribution(f"the text is 3 to {_MAX_TEXT} characters")
    about = (spec.about or "").strip() or None
    if about is not None and not _RECORD_ID.fullmatch(about):
        raise InvalidContribution("'about' is the @id of one of your records")
    return title, text, about


def add_contribution(context: ServiceContext, actor: Actor, cpr_digits: str,
                     spec: ContributionSpec, *, now: datetime | None = None) -> Contribution:
    now = now or datetime.now(UTC)
    title, text, about = _check(spec)
    contribution = Contribution(
        id=str(uuid.uuid4()), subject_cpr=cpr_digits, about=about, kind=spec.kind,
        title=title, text=text, created_at=now, created_by=actor.subject,
        created_by_role=actor.role)
    with context.sessions.begin() as session:
        session.add(contribution)
        forget_overview(session, context, cpr_digits)
        audit.record(session, actor, "contribution.added", at=now, detail={
            "contribution": contribution.id, "kind": spec.kind})
    return contribution


def get_contribution(context: ServiceContext, contribution_id: str, *,
                     cpr_digits: str | None = None) -> Contribution:
    with context.sessions() as session:
        row = session.get(Contribution, contribution_id) if is_id(contribution_id) else None
    if row is None or (cpr_digits is not None and row.subject_cpr != cpr_digits):
        raise NotFound("no such contribution")
    return row


def add_contribution_evidence(context: ServiceContext, actor: Actor, cpr_digits: str,
                              contribution_id: str, source: IO[bytes], filename: str,
                              *, now: datetime | None = None) -> Evidence:
    now = now or datetime.now(UTC)
    contribution = get_contribution(context, contribution_id, cpr_digits=cpr_digits)
    if contribution.withdrawn_at is not None:
        raise Conflict("a withdrawn contribution takes no documents")
    stored = store_evidence(context, source, filename)
    evidence = Evidence(id=stored.id, subject_cpr=cpr_digits, flag_id=None,
                        contribution_id=contribution.id, blob_key=stored.blob_key,
                        media_type=stored.media_type, size=stored.size, sha256=stored.sha256,
                        filename=stored.filename, uploaded_at=now, uploaded_by=actor.subject)
    with context.sessions.begin() as session:
        session.add(evidence)
        audit.record(session, actor, "contribution.evidence_added", at=now, detail={
            "contribution": contribution.id, "evidence": evidence.id,
            "media_type": stored.media_type, "size": stored.size})
    return evidence


def withdraw_contribution(context: ServiceContext, actor: Actor, cpr_digits: str,
                          contribution_id: str, *, now: datetime | None = None) -> Contribution:
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        row = session.scalars(select(Contribution).where(
            Contribution.id == contribution_id).with_for_update()).one_or_none() \
            if is_id(contribution_id) else None
        if row is None or row.subject_cpr != cpr_digits:
            raise NotFound("no such contribution")
        if row.withdrawn_at is None:
            row.withdrawn_at = now
            forget_overview(session, context, cpr_digits)
            audit.record(session, actor, "contribution.withdrawn", at=now,
                         detail={"contribution": row.id})
    return row


def list_contributions(context: ServiceContext, cpr_digits: str, *,
                       withdrawn: bool = False) -> Sequence[Contribution]:
    """The citizen's contributions, newest first (withdrawn ones only if asked)."""
    query = select(Contribution).where(Contribution.subject_cpr == cpr_digits)
    if not withdrawn:
        query = query.where(Contribution.withdrawn_at.is_(None))
    with context.sessions() as session:
        return session.scalars(query.order_by(Contribution.created_at.desc()).limit(500)).all()


def unseen_contributions(context: ServiceContext, *, limit: int = 200) -> Sequence[Contribution]:
    """New contributions no caseworker has seen yet, the oldest first."""
    with context.sessions() as session:
        return session.scalars(
            select(Contribution).where(Contribution.seen_at.is_(None),
                                       Contribution.withdrawn_at.is_(None))
            .order_by(Contribution.created_at).limit(limit)).all()


def unseen_count(context: ServiceContext, *, cap: int = 1000) -> int:
    """How many contributions no caseworker has seen, counted up to ``cap + 1``."""
    unseen = select(Contribution.id).where(Contribution.seen_at.is_(None),
                                           Contribution.withdrawn_at.is_(None))
    with context.sessions() as session:
        return int(session.scalar(
            select(func.count()).select_from(unseen.limit(cap + 1).subquery())) or 0)


def mark_seen(context: ServiceContext, actor: Actor, contribution_id: str,
              *, now: datetime | None = None) -> Contribution:
    now = now or datetime.now(UTC)
    with context.sessions.begin() as session:
        row = session.scalars(select(Contribution).where(
            Contribution.id == contribution_id).with_for_update()).one_or_none() \
            if is_id(contribution_id) else None
        if row is None:
            raise NotFound("no such contribution")
        if row.seen_at is None:
            row.seen_at, row.seen_by = now, actor.subject
            audit.record(session, actor, "contribution.seen", at=now,
                         detail={"contribution": row.id})
    return row
