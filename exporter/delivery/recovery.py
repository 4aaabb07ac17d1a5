"""What the reconciler does for deliveries (called from
:func:`exporter.service.reconcile.reconcile`): queue the next attempt of

- a pending delivery whose job is gone (Redis flushed, or lost before it ran);
- a delivery waiting to retry whose time has come;
- a delivery being sent whose lease ran out (its worker died).

Each is queued at most once per pass; the claim is a compare-and-set, so a job queued
twice still runs the attempt once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from exporter.db.models import Delivery
from exporter.delivery.deliveries import deliver_job_id, enqueue_delivery
from exporter.delivery.states import DeliveryState
from exporter.service.context import ServiceContext

__all__ = ["reconcile_deliveries"]

log = logging.getLogger(__name__)
D = DeliveryState


def reconcile_deliveries(context: ServiceContext, now: datetime, *, limit: int = 1000) -> int:
    grace = timedelta(seconds=context.settings.lease_seconds)
    with context.sessions() as session:
        due = session.scalars(
            select(Delivery).where(or_(
                and_(Delivery.state == D.PENDING.value,
                     or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < now - grace)),
                and_(Delivery.state == D.RETRY_WAIT.value, Delivery.next_attempt_at <= now),
                and_(Delivery.state == D.SENDING.value, Delivery.lease_until < now),
            )).limit(limit)
        ).all()
    count = 0
    for delivery in due:
        if context.queue.pending(deliver_job_id(delivery)):
            continue
        log.info("queueing delivery %s (attempt %d)", delivery.id, delivery.attempt + 1)
        enqueue_delivery(context, delivery)
        count += 1
    return count
