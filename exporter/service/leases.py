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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from exporter.db.models import table_of
from exporter.errors import EgneDataError

__all__ = ["Heartbeat", "LeaseLost", "Leased"]


class LeaseLost(EgneDataError):
    """Another attempt took over the work this job was doing."""


@dataclass(frozen=True)
class Leased:
    """Where a kind of work keeps its lease: the table, its attempt and lease columns,
    what a row held by a running attempt looks like, and what a row free to take
    looks like."""

    model: type[Any]
    attempt: InstrumentedAttribute[int]
    lease_until: InstrumentedAttribute[datetime | None]
    running: ColumnElement[bool]
    free: ColumnElement[bool]
    _statements: dict[tuple[str, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def claim(self, session: Session, row_id: str, attempt: int, *, now: datetime,
              seconds: float, **values: Any) -> Any | None:
        """Take the row for ``attempt`` if it records ``attempt - 1`` and is free (or
        held by a running attempt whose lease ran out), setting ``values``; the row, or
        None. One statement: ``UPDATE … RETURNING``."""
        statement = self._statement("claim", tuple(sorted(values)))
        return session.scalars(statement, {
            "row_id": row_id, "held_by": attempt - 1, "now": now, "new_attempt": attempt,
            "until": now + timedelta(seconds=seconds),
            **{f"set_{key}": value for key, value in values.items()},
        }).one_or_none()

    def extend(self, session: Session, row_id: str, attempt: int, *, now: datetime,
               seconds: float, **values: Any) -> bool:
        """Extend ``attempt``'s lease (and set ``values``); False if it no longer holds
        the row."""
        statement = self._statement("extend", tuple(sorted(values)))
        result = session.execute(statement, {
            "row_id": row_id, "held_by": attempt, "until": now + timedelta(seconds=seconds),
            **{f"set_{key}": value for key, value in values.items()},
        })
        return getattr(result, "rowcount", 0) == 1

    def _statement(self, kind: str, keys: tuple[str, ...]) -> Any:
        """Built once per kind and set of columns: SQLAlchemy finds a statement it has
        seen without walking it again, which costs more than running it."""
        statement = self._statements.get((kind, *keys))
        if statement is not None:
            return statement
        table = table_of(self.model)
        sets = {key: bindparam(f"set_{key}", type_=table.c[key].type) for key in keys}
        sets[self.lease_until.key] = bindparam("until", type_=self.lease_until.type)
        where = [self.model.id == bindparam("row_id"), self.attempt == bindparam("held_by")]
        if kind == "claim":
            where.append(self.free | (self.running & (self.lease_until < bindparam(
                "now", type_=self.lease_until.type))))
            sets[self.attempt.key] = bindparam("new_attempt", type_=self.attempt.type)
            statement = (update(self.model).where(*where).values(sets).returning(self.model)
                         .execution_options(synchronize_session=False,
                                            populate_existing=True))
        else:
            where.append(self.running)
            statement = update(table).where(*where).values(sets)
        self._statements[(kind, *keys)] = statement
        return statement


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
