"""The work queue: open requests and flags together by deadline, the overdue first,
paged by keyset (every item once, none twice), counts, filters and units."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from exporter.console.work import QueueFilter, parse_cursor, work_queue
from exporter.db.models import Flag, Request, SourceTask
from exporter.service.context import ServiceContext
from tests.exporter.service.conftest import ContextFactory

TODAY = date(2026, 12, 6)
CPR = "7101901234"


def add_request(context: ServiceContext, due: date, state: str = "collecting") -> str:
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    with context.sessions.begin() as session:
        session.add(Request(id=request_id, subject_cpr=CPR, requested_by=CPR,
                            requester_role="citizen", datasets=None, received_at=now,
                            deadline=due, state=state, state_changed_at=now))
    return request_id


def add_flag(context: ServiceContext, due: date, unit: str | None, state: str = "received",
             extended: date | None = None) -> str:
    now = datetime.now(UTC)
    flag_id = str(uuid.uuid4())
    with context.sessions.begin() as session:
        session.add(Flag(id=flag_id, subject_cpr=CPR, record_id=f"urn:x:{flag_id}", field=None,
                         package_id=str(uuid.uuid4()), dataset_id="sager", source_id="s",
                         unit=unit, record={}, state=state, received_at=now, deadline=due,
                         extended_deadline=extended, created_by=CPR, created_by_role="citizen",
                         state_changed_at=now))
    return flag_id


@pytest.fixture
def context(make_context: ContextFactory) -> ServiceContext:
    return make_context(manual=True)


def test_overdue_first_then_by_deadline_across_both_kinds(context: ServiceContext) -> None:
    late_flag = add_flag(context, TODAY - timedelta(days=3), "U02")
    late_request = add_request(context, TODAY - timedelta(days=1))
    soon = add_request(context, TODAY + timedelta(days=2), "ready_with_gaps")
    extended = add_flag(context, TODAY - timedelta(days=20), "U01",
                        extended=TODAY + timedelta(days=30))
    add_request(context, TODAY - timedelta(days=9), "ready")  # answered: not work
    add_flag(context, TODAY - timedelta(days=9), "U01", "rejected")  # decided: not work
    page = work_queue(context, units=None, today=TODAY)
    assert [i.id for i in page.items] == [late_flag, late_request, soon, extended]
    assert page.items[0].masked_cpr == "710190-xxxx" and page.next_cursor is None
    assert (page.counts.overdue, page.counts.due_this_week) == (2, 1)


def test_pages_hold_every_item_once(context: ServiceContext) -> None:
    made = {add_request(context, TODAY + timedelta(days=i % 5)) for i in range(7)}
    made |= {add_flag(context, TODAY + timedelta(days=i % 3), "U01") for i in range(6)}
    seen: list[str] = []
    after = None
    while True:
        page = work_queue(context, units=None, today=TODAY, limit=4, after=after)
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        after = parse_cursor(page.next_cursor)
        assert after is not None
    assert len(seen) == len(set(seen)) == 13 and set(seen) == made
    dues = [work_queue(context, units=None, today=TODAY, limit=20).items[k].due
            for k in range(13)]
    assert dues == sorted(dues)


def test_filters_and_units(context: ServiceContext) -> None:
    mine = add_flag(context, TODAY, "U02")
    other = add_flag(context, TODAY, "U03")
    nowhere = add_flag(context, TODAY, None)
    request = add_request(context, TODAY)
    limited = work_queue(context, units=("U02",), today=TODAY)
    assert [i.id for i in limited.items] == [mine]  # no other unit's, and no request
    assert work_queue(context, units=("U02",), today=TODAY,
                      wanted=QueueFilter(unit="U03")).items == []
    assert work_queue(context, units=(), today=TODAY).items == []
    everyone = work_queue(context, units=None, today=TODAY, wanted=QueueFilter(kind="flag"))
    assert {i.id for i in everyone.items} == {mine, other, nowhere}
    requests = work_queue(context, units=None, today=TODAY,
                          wanted=QueueFilter(kind="request", state="collecting"))
    assert [i.id for i in requests.items] == [request]
    assert work_queue(context, units=None, today=TODAY,
                      wanted=QueueFilter(state="ready")).items == []


def test_a_request_waiting_on_a_source_is_marked_and_counted(context: ServiceContext) -> None:
    request_id = add_request(context, TODAY)
    with context.sessions.begin() as session:
        session.add(SourceTask(id=str(uuid.uuid4()), request_id=request_id, source_id="cpr",
                               state="pending", attempt=2, last_error="unreachable"))
    page = work_queue(context, units=None, today=TODAY)
    assert page.items[0].waiting and page.counts.waiting_on_source == 1
    with context.sessions.begin() as session:
        session.execute(update(SourceTask).values(state="done", last_error=None))
    assert work_queue(context, units=None, today=TODAY).counts.waiting_on_source == 0


@pytest.mark.parametrize("text", ["", "x", "2026-13-01~" + "a" * 36, "2026-01-01~../etc",
                                  "2026-01-01~" + "0" * 36 + "&x", "9" * 5000])
def test_a_cursor_that_is_not_one_is_none(text: str) -> None:
    assert parse_cursor(text) is None
