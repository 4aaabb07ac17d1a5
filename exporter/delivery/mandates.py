"""Mandates (fuldmagt): a citizen lets a representative act on their behalf.

A mandate names the representative (their login subject: in the portal, where both
people log in with MitID, their CPR number), the rights it gives
(``request``: ask for the citizen's data and see those requests; ``push``: send the
citizen's packages to a service), optionally the datasets and services it is limited
to, and a validity period. The citizen may revoke it at any time. Everything a
representative does is audited as done by them on behalf of the citizen.

Mandates may also arrive with a login, as NemLog-in privileges
(:mod:`exporter.login.privileges`): :func:`sync_login_mandates` keeps one mandate row per
citizen represented, valid until the login's session ends, so every check goes through
:func:`authorise` alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from exporter.db.models import Mandate
from exporter.delivery.consents import NotAllowed
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import Conflict, NotFound

__all__ = [
    "RIGHTS",
    "MandateSpec",
    "authorise",
    "grant_mandate",
    "list_mandates",
    "mandate_problem",
    "representative_actor",
    "revoke_mandate",
    "sync_login_mandates",
    "valid_mandates",
]

RIGHTS = ("request", "push")
LOGIN_ROLE = "login"
"""``created_by_role`` of a mandate that came with a login's privileges."""


@dataclass(frozen=True)
class MandateSpec:
    representative: str
    rights: tuple[str, ...]
    valid_until: datetime
    valid_from: datetime | None = None
    datasets: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    subject_name: str | None = None
    representative_name: str | None = None


def representative_actor(representative: str, cpr_digits: str) -> Actor:
    return Actor(representative, "representative", on_behalf_of=cpr_digits)


def mandate_problem(mandate: Mandate, right: str, now: datetime, *,
                    datasets: Collection[str] = (), service_id: str | None = None) -> str | None:
    """Why ``mandate`` does not allow ``right`` now; None if it does."""
    if mandate.revoked_at is not None:
        return "the mandate was revoked"
    if now < mandate.valid_from:
        return "the mandate is not valid yet"
    if now >= mandate.valid_until:
        return "the mandate has expired"
    if right not in mandate.rights:
        return f"the mandate does not give the right to {right}"
    if mandate.datasets is not None:
        missing = sorted(set(datasets) - set(mandate.datasets))
        if missing:
            return f"the mandate does not cover the datasets {', '.join(missing)}"
    if service_id is not None and mandate.services is not None \
            and service_id not in mandate.services:
        return "the mandate does not cover this service"
    return None


def authorise(context: ServiceContext, representative: str, cpr_digits: str, right: str,
              *, datasets: Collection[str] = (), service_id: str | None = None,
              now: datetime | None = None) -> Mandate:
    """The representative's mandate for this action, or :class:`NotAllowed` (audited)."""
    now = now or datetime.now(UTC)
    with context.sessions() as session:
        mandates = session.scalars(
            select(Mandate).where(Mandate.representative == representative,
                                  Mandate.subject_cpr == cpr_digits)
            .order_by(Mandate.valid_until.desc())
        ).all()
    reasons = []
    for mandate in mandates:
        problem = mandate_problem(mandate, right, now, datasets=datasets, service_id=service_id)
        if problem is None:
            return mandate
        reasons.append(problem)
    reason = reasons[0] if reasons else "there is no mandate from this citizen"
    with context.sessions.begin() as session:
        audit.record(session, representative_actor(representative, cpr_digits),
                     f"{right}.refused", at=now,
                     detail={"reason": reason, "service": service_id})
    raise NotAllowed(f"not allowed to {right} for this citizen: {reason}")


def grant_mandate(context: ServiceContext, actor: Actor, cpr_digits: str, spec: MandateSpec,
                  *, now: datetime | None = None) -> Mandate:
    now = now or datetime.now(UTC)
    rights = sorted(set(spec.rights))
    if not rights or any(r not in RIGHTS for r in rights):
        raise Conflict(f"a mandate gives one or more of the rights {', '.join(RIGHTS)}")
    valid_from = spec.valid_from or now
    if spec.valid_until <= max(valid_from, now):
        raise Conflict("a mandate must end in the future, after it begins")
    if spec.representative == cpr_digits:
        raise Conflict("a citizen needs no mandate to act for themselves")
    mandate = Mandate(
        id=str(uuid.uuid4()), subject_cpr=cpr_digits, representative=spec.representative,
        rights=rights, datasets=list(spec.datasets) if spec.datasets is not None else None,
        services=list(spec.services) if spec.services is not None else None,
        valid_from=valid_from, valid_until=spec.valid_until, created_at=now,
        created_by=actor.subject, created_by_role=actor.role,
        subject_name=spec.subject_name, representative_name=spec.representative_name,
    )
    with context.sessions.begin() as session:
        session.add(mandate)
        session.flush()
        audit.record(session, actor, "mandate.granted", at=now, detail={
            "mandate": mandate.id, "rights": rights,
            "valid_until": spec.valid_until.isoformat(),
        })
    return mandate


def revoke_mandate(context: ServiceContext, actor: Actor, cpr_digits: str, mandate_id: str,
                   *, now: datetime | None = None) -> Mandate:
    now = now or datetime.now(UTC)
    if not is_id(mandate_id):
        raise NotFound("no such mandate")
    with context.sessions.begin() as session:
        mandate = session.scalars(
            select(Mandate).where(Mandate.id == mandate_id).with_for_update()
        ).one_or_none()
        if mandate is None or mandate.subject_cpr != cpr_digits:
            raise NotFound("no such mandate")
        if mandate.revoked_at is None:
            mandate.revoked_at = now
            audit.record(session, actor, "mandate.revoked", at=now,
                         detail={"mandate": mandate.id})
    return mandate


def list_mandates(context: ServiceContext, *, cpr_digits: str | None = None,
                  representative: str | None = None) -> Sequence[Mandate]:
    query = select(Mandate).order_by(Mandate.created_at.desc()).limit(500)
    if cpr_digits is not None:
        query = query.where(Mandate.subject_cpr == cpr_digits)
    if representative is not None:
        query = query.where(Mandate.representative == representative)
    with context.sessions() as session:
        return session.scalars(query).all()


def valid_mandates(context: ServiceContext, representative: str,
                   now: datetime | None = None) -> list[Mandate]:
    """The mandates ``representative`` holds that are in force now, one per citizen
    (the one that lasts longest)."""
    now = now or datetime.now(UTC)
    chosen: dict[str, Mandate] = {}
    for mandate in list_mandates(context, representative=representative):
        if mandate.revoked_at is None and mandate.valid_from <= now < mandate.valid_until:
            best = chosen.get(mandate.subject_cpr)
            if best is None or mandate.valid_until > best.valid_until:
                chosen[mandate.subject_cpr] = mandate
    return sorted(chosen.values(), key=lambda m: (m.subject_name or "", m.subject_cpr))


def sync_login_mandates(context: ServiceContext, representative: str, name: str,
                        privileges: Sequence[tuple[str, Sequence[str]]], until: datetime,
                        *, now: datetime | None = None) -> None:
    """Make the mandates a login brought (``(citizen CPR, rights)`` pairs) valid until
    ``until``; end those an earlier login brought that this one no longer has."""
    now = now or datetime.now(UTC)
    wanted = {cpr: sorted(set(rights)) for cpr, rights in privileges if cpr != representative}
    actor = Actor(representative, LOGIN_ROLE)
    with context.sessions.begin() as session:
        held = session.scalars(
            select(Mandate).where(Mandate.representative == representative,
                                  Mandate.created_by_role == LOGIN_ROLE,
                                  Mandate.revoked_at.is_(None),
                                  Mandate.valid_until > now)
            .with_for_update()
        ).all()
        for mandate in held:
            rights = wanted.pop(mandate.subject_cpr, None)
            if rights is None:
                mandate.revoked_at = now
                audit.record(session, actor, "mandate.revoked", at=now, detail={
                    "mandate": mandate.id, "source": "login"})
            else:
                mandate.rights, mandate.valid_until = rights, until
                mandate.representative_name = name
        for cpr, rights in wanted.items():
            mandate = Mandate(
                id=str(uuid.uuid4()), subject_cpr=cpr, representative=representative,
                rights=rights, datasets=None, services=None, valid_from=now,
                valid_until=until, created_at=now, created_by=representative,
                created_by_role=LOGIN_ROLE, representative_name=name,
            )
            session.add(mandate)
            session.flush()
            audit.record(session, actor, "mandate.granted", at=now, detail={
                "mandate": mandate.id, "rights": rights, "source": "login",
                "valid_until": until.isoformat()})
