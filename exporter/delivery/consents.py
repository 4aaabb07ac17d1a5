"""Consents: a citizen lets one service receive chosen datasets, for a stated purpose,
once or until a date, and may revoke that at any time.

Each change is one transaction: the consent row, a history event holding the signed
receipt of that version (:mod:`exporter.delivery.receipts`), and an audit event.
Revoking also cancels the consent's deliveries that have not started; one that is
being sent is stopped by the deliver job, which checks the consent before it sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from exporter.db.models import Consent, ConsentEvent, Delivery, ExternalService
from exporter.delivery.receipts import build_receipt, consent_status, sign_receipt
from exporter.delivery.registry import ACTIVE
from exporter.delivery.states import DeliveryState
from exporter.errors import EgneDataError
from exporter.ids import is_id
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import Conflict, NotFound, UnknownDataset

__all__ = [
    "ConsentSpec",
    "NotAllowed",
    "consent_problem",
    "get_consent",
    "give_consent",
    "list_consents",
    "record_event",
    "revoke_consent",
]


class NotAllowed(EgneDataError):
    """No valid consent or mandate covers what was asked (answered with 403)."""


@dataclass(frozen=True)
class ConsentSpec:
    service_id: str
    purpose: str
    datasets: tuple[str, ...] | None = None
    valid_until: date | None = None
    single_use: bool = False


def consent_problem(consent: Consent, service: ExternalService, datasets: Collection[str],
                    today: date, *, delivery_id: str | None = None) -> str | None:
    """Why ``consent`` does not let ``datasets`` go to ``service`` now; None if it does."""
    status = consent_status(consent, today)
    if consent.service_id != service.id:
        return "the consent is for another service"
    if status == "revoked":
        return "the consent was revoked"
    if status == "expired":
        return f"the consent expired on {consent.valid_until}"
    if status == "used" and consent.used_by_delivery != delivery_id:
        return "the consent was for one delivery, and it has been used"
    if service.state != ACTIVE:
        return "the service is suspended"
    if consent.datasets is not None:
        missing = sorted(set(datasets) - set(consent.datasets))
        if missing:
            return f"the consent does not cover the datasets {', '.join(missing)}"
    return None


def record_event(session: Session, context: ServiceContext, consent: Consent,
                 service: ExternalService, event: str, actor: Actor, now: datetime) -> None:
    """A new receipt version for ``consent`` as it now stands, kept in its history."""
    consent.version += 1
    keyring = context.keyring
    receipt = build_receipt(consent, service, context.profile, issued=now,
                            key_id=keyring.public_key.key_id)
    consent.receipt, consent.receipt_signature = sign_receipt(receipt, keyring)
    session.add(ConsentEvent(
        id=str(uuid.uuid4()), consent_id=consent.id, version=consent.version, event=event,
        at=now, actor=actor.subject, actor_role=actor.role, on_behalf_of=actor.on_behalf_of,
        receipt=consent.receipt, receipt_signature=consent.receipt_signature,
    ))
    audit.record(session, actor, f"consent.{event}", at=now, detail={
        "consent": consent.id, "service": service.id, "version": consent.version,
    })


def _known_datasets(context: ServiceContext, datasets: Sequence[str] | None) -> None:
    known = {d.id for s in context.profile.sources for d in s.datasets}
    if datasets is not None:
        unknown = sorted(set(datasets) - known)
        if unknown or not datasets:
            raise UnknownDataset(
                f"unknown or no datasets ({', '.join(unknown)}); this municipality has: "
                f"{', '.join(sorted(known))}"
            )


def give_consent(context: ServiceContext, actor: Actor, cpr_digits: str, spec: ConsentSpec,
                 *, now: datetime | None = None) -> Consent:
    now = now or datetime.now(UTC)
    _known_datasets(context, spec.datasets)
    if spec.valid_until is not None and spec.valid_until < now.date():
        raise Conflict("valid_until is in the past")
    if not spec.purpose.strip():
        raise UnknownDataset("state the purpose the service will use the data for")
    with context.sessions.begin() as session:
        service = session.get(ExternalService, spec.service_id) \
            if is_id(spec.service_id) else None
        if service is None:
            raise NotFound("no such service")
        if service.state != ACTIVE:
            raise Conflict("the service is suspended and takes no new consents")
        consent = Consent(
            id=str(uuid.uuid4()), subject_cpr=cpr_digits, service_id=service.id,
            datasets=list(spec.datasets) if spec.datasets is not None else None,
            purpose=spec.purpose.strip(), single_use=spec.single_use,
            valid_until=spec.valid_until, state="active", version=0, given_at=now,
            given_by=actor.subject, given_by_role=actor.role, receipt=b"",
            receipt_signature="",
        )
        session.add(consent)
        session.flush()
        record_event(session, context, consent, service, "given", actor, now)
    return consent


def revoke_consent(context: ServiceContext, actor: Actor, cpr_digits: str, consent_id: str,
                   *, now: datetime | None = None) -> Consent:
    now = now or datetime.now(UTC)
    if not is_id(consent_id):
        raise NotFound("no such consent")
    with context.sessions.begin() as session:
        consent = session.scalars(
            select(Consent).where(Consent.id == consent_id).with_for_update()
        ).one_or_none()
        if consent is None or consent.subject_cpr != cpr_digits:
            raise NotFound("no such consent")
        if consent.state == "revoked":
            return consent
        service = session.get_one(ExternalService, consent.service_id)
        consent.state, consent.revoked_at = "revoked", now
        record_event(session, context, consent, service, "revoked", actor, now)
        session.execute(
            update(Delivery)
            .where(Delivery.consent_id == consent.id,
                   Delivery.state.in_([DeliveryState.PENDING.value,
                                       DeliveryState.RETRY_WAIT.value]))
            .values(state=DeliveryState.CANCELLED.value, finished_at=now,
                    last_error="the consent was revoked", lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return consent


def get_consent(context: ServiceContext, cpr_digits: str, consent_id: str) -> Consent:
    if not is_id(consent_id):
        raise NotFound("no such consent")
    with context.sessions() as session:
        consent = session.get(Consent, consent_id, options=[selectinload(Consent.events)])
    if consent is None or consent.subject_cpr != cpr_digits:
        raise NotFound("no such consent")
    return consent


def list_consents(context: ServiceContext, cpr_digits: str) -> list[Consent]:
    with context.sessions() as session:
        return list(session.scalars(
            select(Consent).where(Consent.subject_cpr == cpr_digits)
            .options(selectinload(Consent.events)).order_by(Consent.given_at.desc()).limit(500)
        ).all())
