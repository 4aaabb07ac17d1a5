"""Fenced leases: how a job takes its row (a source task, an assembly, a delivery),
keeps it while it works, and finds out that it lost it.

A row records the attempt that holds it and until when. A job for attempt *n* claims
the row only if the row still records attempt *n - 1* and is free to take (waiting, or
held by an attempt whose lease ran out): a compare-and-set, so a duplicate or late job
claims nothing. While it works, the job extends its lease every third of the lease's
length; if the row no longer records its attempt as running, another attempt took
over and :class:`LeaseLost` tells the job to stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from exporter.errors import EgneDataError

__all__ = ["Heartbeat", "LeaseLost", "Leased"]


class LeaseLost(EgneDataError):
    """Another attempt took over the work this job was doing."""


@dataclass(frozen=True)
class Leased:
    """Where a kind of work keeps its lease: the table, its attempt and lease columns,
    and what a row held by a running attempt looks like."""

    model: type[Any]
    attempt: InstrumentedAttribute[int]
    lease_until: InstrumentedAttribute[datetime | None]
    running: ColumnElement[bool]

    def claim(self, session: Session, row_id: str, attempt: int, *, now: datetime,
              seconds: float, free: ColumnElement[bool], **values: Any) -> Any | None:
        """Take the row for ``attempt`` if it records ``attempt - 1`` and is ``free``
        (or held by a running attempt whose lease ran out); the row, or None. One
        statement: ``UPDATE … RETURNING``."""
        taken = free | (self.running & (self.lease_until < now))
        return session.scalars(
            update(self.model)
            .where(self.model.id == row_id, self.attempt == attempt - 1, taken)
            .values({self.attempt.key: attempt,
                     self.lease_until.key: now + timedelta(seconds=seconds), **values})
            .returning(self.model)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).one_or_none()

    def extend(self, session: Session, row_id: str, attempt: int, *, now: datetime,
               seconds: float, **values: Any) -> bool:
        """Extend ``attempt``'s lease (and set ``values``); False if it no longer holds
        the row."""
        result = session.execute(
            update(self.model)
            .where(self.model.id == row_id, self.attempt == attempt, self.running)
            .values({self.lease_until.key: now + timedelta(seconds=seconds), **values})
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


class Heartbeat:
    """Extends a held lease every third of its length; raises :class:`LeaseLost` once
    another attempt has the row. ``values`` gives columns to publish with each beat
    (progress, say)."""

    def __init__(self, sessions: Callable[[], Any], leased: Leased, row_id: str,
                 attempt: int, seconds: float, what: str,
                 values: Callable[[], dict[str, Any]] = dict) -> None:
        self._sessions, self._leased = sessions, leased
        self._row_id, self._attempt, self._seconds = row_id, attempt, seconds
        self._what, self._values = what, values
        self._interval = seconds / 3
        self._next = time.monotonic() + self._interval

    def __call__(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self._interval
        with self._sessions() as session:
            held = self._leased.extend(session, self._row_id, self._attempt,
                                       now=datetime.now(UTC), seconds=self._seconds,
                                       **self._values())
        if not held:
            raise LeaseLost(f"another attempt took over this {self._what}")
