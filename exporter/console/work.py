"""The caseworkers' work queue: open access requests and open flags together, by their
deadline (the overdue come first, since their deadline is the earliest), in pages.

Each kind is read from its own partial index on ``(coalesce(extended_deadline,
deadline), id)`` (``ix_requests_queue``, ``ix_flags_queue``) and paged by keyset: a page
asks for the items after the last one shown, so the hundredth page costs what the first
does and nothing is sorted outside the database. The two pages are merged. A caseworker
limited to units sees the flags on their units' records, and no request (a request
covers all of a citizen's data, across units).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, tuple_
from sqlalchemy.orm import Session

from exporter.cpr import Cpr
from exporter.db.models import Flag, Request, SourceTask
from exporter.flags.states import OPEN
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import RequestState, TaskState

__all__ = ["COUNT_LIMIT", "KINDS", "OPEN_REQUEST_STATES", "QueueCounts", "QueueFilter", "QueuePage",
           "WorkItem", "parse_cursor", "work_queue"]

KINDS = ("request", "flag")
OPEN_REQUEST_STATES = (RequestState.RECEIVED, RequestState.COLLECTING,
                       RequestState.ASSEMBLING, RequestState.FAILED,
                       RequestState.READY_WITH_GAPS)
"""Requests that are work (``OPEN_REQUEST`` in the models: the index's condition)."""
OPEN_FLAG_STATES = tuple(sorted(s.value for s in OPEN))
_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})~([0-9a-f-]{36})")


@dataclass(frozen=True)
class WorkItem:
    kind: str
    id: str
    due: date
    state: str
    received_at: datetime
    masked_cpr: str
    """``DDMMYY-xxxx``: a list never shows a CPR number in full."""
    unit: str | None
    about: str
    """A request's datasets (or "all"), a flag's dataset."""
    waiting: bool = False
    """A request with a source that failed, or is being tried again."""

    @property
    def cursor(self) -> str:
        return f"{self.due.isoformat()}~{self.id}"


@dataclass(frozen=True)
class QueueFilter:
    kind: str | None = None
    state: str | None = None
    unit: str | None = None


COUNT_LIMIT = 1000
"""The counts at the top of the queue are exact up to this; above it the page says
"more than 1,000": counting a hundred thousand overdue items on every page view would
cost more than the exact figure is worth (the statistics have the exact ones)."""


@dataclass(frozen=True)
class QueueCounts:
    overdue: int
    due_this_week: int
    waiting_on_source: int
    """Each exact up to :data:`COUNT_LIMIT`; ``COUNT_LIMIT + 1`` means more."""


@dataclass(frozen=True)
class QueuePage:
    items: list[WorkItem]
    next_cursor: str | None
    counts: QueueCounts


def parse_cursor(text: str | None) -> tuple[date, str] | None:
    """A page cursor from a URL (``YYYY-MM-DD~id``), or None if it is not one."""
    match = _CURSOR.fullmatch(text or "")
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1)), match.group(2)
    except ValueError:
        return None


def _due(model: type[Request] | type[Flag]) -> ColumnElement[Any]:
    return func.coalesce(model.extended_deadline, model.deadline)


def _requests(wanted: QueueFilter, units: Sequence[str] | None) -> Select[Any] | None:
    if wanted.kind not in (None, "request") or units is not None or wanted.unit:
        return None
    states = [s.value for s in OPEN_REQUEST_STATES]
    if wanted.state is not None:
        if wanted.state not in states:
            return None
        states = [wanted.state]
    due = _due(Request)
    return (select(Request.id, due.label("due"), Request.state, Request.received_at,
                   Request.subject_cpr, Request.datasets)
            .where(Request.state.in_(states)))


def _flags(wanted: QueueFilter, units: Sequence[str] | None) -> Select[Any] | None:
    if wanted.kind not in (None, "flag"):
        return None
    states: list[str] = list(OPEN_FLAG_STATES)
    if wanted.state is not None:
        if wanted.state not in states:
            return None
        states = [wanted.state]
    due = _due(Flag)
    query = (select(Flag.id, due.label("due"), Flag.state, Flag.received_at,
                    Flag.subject_cpr, Flag.unit, Flag.dataset_id)
             .where(Flag.state.in_(states)))
    if wanted.unit is not None:
        if units is not None and wanted.unit not in units:
            return None
        query = query.where(Flag.unit == wanted.unit)
    elif units is not None:
        query = query.where(Flag.unit.in_(units)) if units else query.where(false())
    return query


def _page(session: Session, query: Select[Any], model: type[Request] | type[Flag],
          after: tuple[date, str] | None, limit: int) -> list[Any]:
    due = _due(model)
    if after is not None:
        query = query.where(tuple_(due, model.id) > tuple_(after[0], after[1]))
    return list(session.execute(query.order_by(due, model.id).limit(limit)).all())


def _waiting(session: Session, request_ids: Sequence[str]) -> set[str]:
    if not request_ids:
        return set()
    return set(session.scalars(
        select(SourceTask.request_id).where(SourceTask.request_id.in_(request_ids),
                                            _failing()).distinct()))


def _failing() -> ColumnElement[bool]:
    """A source task that failed, or failed once and is being tried again."""
    return or_(SourceTask.state == TaskState.FAILED.value,
               SourceTask.state.in_([TaskState.PENDING.value, TaskState.RUNNING.value])
               & SourceTask.last_error.is_not(None))


def _capped(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` has, counted up to just past :data:`COUNT_LIMIT`."""
    return int(session.scalar(
        select(func.count()).select_from(query.limit(COUNT_LIMIT + 1).subquery())) or 0)


def _count(session: Session, query: Select[Any] | None, model: type[Request] | type[Flag],
           first: date | None, last: date | None) -> int:
    if query is None:
        return 0
    due = _due(model)
    query = query.with_only_columns(model.id)
    if first is not None:
        query = query.where(due >= first)
    if last is not None:
        query = query.where(due <= last)
    return _capped(session, query)


def _counts(session: Session, requests: Select[Any] | None, flags: Select[Any] | None,
            today: date) -> QueueCounts:
    yesterday, week = today - timedelta(days=1), today + timedelta(days=7)
    overdue = (_count(session, requests, Request, None, yesterday)
               + _count(session, flags, Flag, None, yesterday))
    this_week = (_count(session, requests, Request, today, week)
                 + _count(session, flags, Flag, today, week))
    waiting = 0
    if requests is not None:
        open_ids = requests.with_only_columns(Request.id)
        waiting = _capped(session, select(SourceTask.request_id).where(
            _failing(), SourceTask.request_id.in_(open_ids)).distinct())
    return QueueCounts(min(overdue, COUNT_LIMIT + 1), min(this_week, COUNT_LIMIT + 1),
                       waiting)


def work_queue(context: ServiceContext, *, units: Sequence[str] | None, today: date,
               wanted: QueueFilter = QueueFilter(), after: tuple[date, str] | None = None,
               limit: int = 50) -> QueuePage:
    """One page of the queue, after the item ``after`` (a cursor), with the counts."""
    requests, flags = _requests(wanted, units), _flags(wanted, units)
    with context.sessions() as session:
        request_rows = _page(session, requests, Request, after, limit + 1) \
            if requests is not None else []
        flag_rows = _page(session, flags, Flag, after, limit + 1) if flags is not None else []
        waiting = _waiting(session, [r.id for r in request_rows])
        counts = _counts(session, requests, flags, today)
    items = [WorkItem("request", r.id, r.due, r.state, r.received_at,
                      Cpr(r.subject_cpr).masked, None,
                      ", ".join(r.datasets) if r.datasets else "", r.id in waiting)
             for r in request_rows]
    items += [WorkItem("flag", f.id, f.due, f.state, f.received_at, Cpr(f.subject_cpr).masked,
                       f.unit, f.dataset_id) for f in flag_rows]
    merged = list(heapq.merge(
        [i for i in items if i.kind == "request"], [i for i in items if i.kind == "flag"],
        key=lambda i: (i.due, i.id)))
    more = len(merged) > limit
    page = merged[:limit]
    return QueuePage(page, page[-1].cursor if more and page else None, counts)
