"""Statistics for the console and ``/metrics``: access requests and flags per month, how
long the answers took against the deadline (median and 95th percentile, in days), the
share answered late, and the share of requests answered with gaps.

A request is answered when it first became ready (with or without gaps), as the audit
log has it; a flag when it was decided. An item still open past its deadline counts as
late. Months are Danish calendar months of the day an item was received.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exporter.db.models import AuditEvent, Flag, Request
from exporter.deadlines import danish_date
from exporter.service.context import ServiceContext

__all__ = ["KindStats", "MonthStats", "Statistics", "statistics_for"]

_ANSWERED = ("request.ready", "request.ready_with_gaps")


@dataclass
class MonthStats:
    month: str
    received: int = 0
    answered: int = 0
    late: int = 0
    with_gaps: int = 0


@dataclass
class KindStats:
    """One kind (``request`` or ``flag``) over the period."""

    kind: str
    months: dict[str, MonthStats] = field(default_factory=dict)
    answer_days: list[float] = field(default_factory=list)
    allowed_days: list[float] = field(default_factory=list)

    def month_of(self, received: date) -> MonthStats:
        key = f"{received:%Y-%m}"
        return self.months.setdefault(key, MonthStats(key))

    @property
    def received(self) -> int:
        return sum(m.received for m in self.months.values())

    @property
    def answered(self) -> int:
        return sum(m.answered for m in self.months.values())

    @property
    def late_share(self) -> float:
        return sum(m.late for m in self.months.values()) / self.received if self.received else 0.0

    @property
    def gaps_share(self) -> float:
        answered = self.answered
        return sum(m.with_gaps for m in self.months.values()) / answered if answered else 0.0

    def quantile(self, q: float, values: list[float] | None = None) -> float | None:
        """The ``q`` quantile of the days to answer (or of ``values``); None if none."""
        data = sorted(self.answer_days if values is None else values)
        if not data:
            return None
        if len(data) == 1:
            return data[0]
        return statistics.quantiles(data, n=100, method="inclusive")[round(q * 100) - 1] \
            if q < 1 else data[-1]

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.answer_days) if self.answer_days else None

    @property
    def p95_days(self) -> float | None:
        return self.quantile(0.95)

    @property
    def allowed_median_days(self) -> float | None:
        return statistics.median(self.allowed_days) if self.allowed_days else None

    def by_month(self) -> list[MonthStats]:
        return [self.months[k] for k in sorted(self.months)]


@dataclass(frozen=True)
class Statistics:
    first: date
    last: date
    requests: KindStats
    flags: KindStats


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 2)


def _add(stats: KindStats, received_at: datetime, due: date, answered_at: datetime | None,
         today: date, *, gaps: bool = False) -> None:
    received = danish_date(received_at)
    month = stats.month_of(received)
    month.received += 1
    stats.allowed_days.append(float((due - received).days))
    if answered_at is None:
        month.late += today > due
        return
    month.answered += 1
    month.with_gaps += gaps
    month.late += danish_date(answered_at) > due
    stats.answer_days.append(_days(received_at, answered_at))


def _answers(session: Session, ids: Iterable[str]) -> dict[str, tuple[datetime, str]]:
    """Each request's first answer: when, and whether with gaps."""
    wanted = list(ids)
    found: dict[str, tuple[datetime, str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(AuditEvent.request_id, AuditEvent.action, func.min(AuditEvent.at))
            .where(AuditEvent.request_id.in_(wanted[start:start + 500]),
                   AuditEvent.action.in_(_ANSWERED))
            .group_by(AuditEvent.request_id, AuditEvent.action)).all()
        for request_id, action, at in rows:
            if request_id is None:
                continue
            if request_id not in found or at < found[request_id][0]:
                found[request_id] = (at, action)
    return found


def statistics_for(context: ServiceContext, first: date, last: date, *,
                   today: date | None = None) -> Statistics:
    """Requests and flags received from ``first`` to ``last`` (both included)."""
    today = today or danish_date(datetime.now(UTC))
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    requests, flags = KindStats("request"), KindStats("flag")
    with context.sessions() as session:
        rows = session.execute(
            select(Request.id, Request.received_at, Request.deadline,
                   Request.extended_deadline)
            .where(Request.received_at >= start, Request.received_at < end)).all()
        answers = _answers(session, (r.id for r in rows))
        for row in rows:
            answer = answers.get(row.id)
            _add(requests, row.received_at, row.extended_deadline or row.deadline,
                 answer[0] if answer else None, today,
                 gaps=answer is not None and answer[1] == "request.ready_with_gaps")
        for flag in session.execute(
                select(Flag.received_at, Flag.deadline, Flag.extended_deadline,
                       Flag.decided_at)
                .where(Flag.received_at >= start, Flag.received_at < end)).all():
            _add(flags, flag.received_at, flag.extended_deadline or flag.deadline,
                 flag.decided_at, today)
    return Statistics(first, last, requests, flags)
