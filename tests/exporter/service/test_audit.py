"""The audit log: lock-free appends, sealing into one chain, and tamper detection."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, update

from exporter.db.models import AuditEvent
from exporter.service.audit import Actor, record, seal, seal_all, verify_chain
from tests.exporter.service.conftest import ContextFactory

CLERK = Actor("cw-1", "caseworker")


def _write(context: object, n: int, action: str = "request.deadline_extended") -> None:
    for i in range(n):
        with context.sessions.begin() as session:  # type: ignore[attr-defined]
            record(session, CLERK, action, detail={"i": i})


def test_events_written_at_once_end_in_one_unbroken_chain(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    writers, each = 6, 25
    stop = threading.Event()
    errors: list[BaseException] = []

    def sealing() -> None:  # two sealers race the writers and each other
        try:
            while not stop.is_set():
                seal_all(context.sessions.begin, batch=7)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    sealers = [threading.Thread(target=sealing) for _ in range(2)]
    threads = [threading.Thread(target=_write, args=(context, each)) for _ in range(writers)]
    for thread in [*sealers, *threads]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    for thread in sealers:
        thread.join()
    assert not errors
    seal_all(context.sessions.begin)
    with context.sessions() as session:
        check = verify_chain(session)
        seqs = sorted(session.scalars(select(AuditEvent.seq)))
    assert check.ok and check.unsealed == 0, check
    assert check.events == writers * each
    assert seqs == list(range(1, writers * each + 1))  # each sealed once, no gaps


def test_unsealed_events_are_counted_and_sealed_in_the_order_written(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    _write(context, 3)
    with context.sessions() as session:
        check = verify_chain(session)
    assert check.ok and check.events == 0 and check.unsealed == 3
    with context.sessions.begin() as session:
        assert seal(session, batch=2) == 2
    assert seal_all(context.sessions.begin) == 1
    assert seal_all(context.sessions.begin) == 0  # nothing left: no lock taken
    with context.sessions() as session:
        rows = session.execute(select(AuditEvent.id, AuditEvent.seq)
                               .order_by(AuditEvent.id)).all()
        check = verify_chain(session)
    assert [seq for _, seq in rows] == [1, 2, 3]
    assert check.ok and check.events == 3 and check.unsealed == 0


@pytest.mark.parametrize("tamper", ["change", "remove-middle", "remove-last", "reorder"])
def test_tampering_with_a_sealed_event_breaks_the_chain(
    make_context: ContextFactory, tamper: str
) -> None:
    context = make_context(manual=True)
    _write(context, 4)
    seal_all(context.sessions.begin)
    with context.sessions.begin() as session:
        if tamper == "change":
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                            .values(actor="someone-else"))
        elif tamper == "remove-middle":
            session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        elif tamper == "remove-last":
            session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
        else:
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                            .values(at=datetime(2020, 1, 1, tzinfo=UTC)))
            session.execute(update(AuditEvent).where(AuditEvent.seq == 3)
                            .values(detail={"i": 0}))
    with context.sessions() as session:
        check = verify_chain(session)
    expected = {"change": (2, "changed"), "remove-middle": (3, "event 2 is missing"),
                "remove-last": (4, "removed"), "reorder": (2, "changed")}[tamper]
    assert not check.ok
    assert (check.broken_at, expected[1] in (check.problem or "")) == (expected[0], True)


def test_a_failed_transaction_leaves_no_event(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    with pytest.raises(RuntimeError), context.sessions.begin() as session:
        record(session, CLERK, "logout")
        raise RuntimeError("the change failed")
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
