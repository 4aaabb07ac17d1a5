"""The intake: requests that arrive together are stored together, each caller gets its
own answer, and a failure reaches exactly the callers it concerns. On SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from exporter.cpr import Cpr
from exporter.db.models import Request, SourceTask
from exporter.service import requests
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.intake import Intake
from exporter.service.queue import JobSpec
from exporter.service.reconcile import reconcile
from exporter.service.requests import (
    Conflict,
    NewRequest,
    Scope,
    create_request,
    new_request,
)
from tests.exporter.service.conftest import ContextFactory, manual_queue, run_all, wait_for

CASEWORKER = Actor("cw-1", "caseworker")
ALL = Scope()
CPRS = [Cpr.parse(f"{61 + i:02d}0190-1234") for i in range(20)]


class _Gate:
    """Holds the intake's thread in its first queueing until opened, so that the
    requests submitted meanwhile wait together."""

    def __init__(self, context: ServiceContext) -> None:
        self.entered, self.open = threading.Event(), threading.Event()
        self._enqueue = context.queue.enqueue_many
        self._first = True
        context.queue.enqueue_many = self._hold  # type: ignore[method-assign]

    def _hold(self, jobs: list[JobSpec]) -> None:
        if self._first:
            self._first = False
            self.entered.set()
            assert self.open.wait(10)
        self._enqueue(jobs)


def _new(context: ServiceContext, cpr: Cpr, key: str | None = None) -> NewRequest:
    return new_request(context, CASEWORKER, cpr, ALL, idempotency_key=key)


def _held(context: ServiceContext) -> tuple[Intake, _Gate, Future[tuple[Request, bool]]]:
    """An intake whose thread is held in queueing its first request's jobs."""
    intake, gate = Intake(context), _Gate(context)
    first = intake.submit(_new(context, CPRS[0]))
    assert gate.entered.wait(10)
    return intake, gate, first


def _one_batch(context: ServiceContext, intake: Intake, gate: _Gate) -> list[Future[Any]]:
    """Four requests submitted while the thread is held, then let go: one batch."""
    waiting = [intake.submit(_new(context, cpr)) for cpr in CPRS[1:5]]
    gate.open.set()
    return waiting


def _commits(context: ServiceContext) -> list[int]:
    commits: list[int] = []
    event.listen(context.engine, "commit", lambda _conn: commits.append(1))
    return commits


def _count(context: ServiceContext, model: type[Any]) -> int:
    with context.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_requests_waiting_together_are_stored_in_one_transaction(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)
    commits = _commits(context)
    waiting = [intake.submit(_new(context, cpr, f"k-{i}")) for i, cpr in enumerate(CPRS[1:])]
    gate.open.set()
    results = [f.result(10) for f in [first, *waiting]]

    assert all(created for _, created in results)
    assert len({request.id for request, _ in results}) == len(CPRS)
    assert len(commits) == 1  # the 19 that waited: one transaction
    assert _count(context, Request) == len(CPRS)
    sources = len(context.profile.sources)
    assert _count(context, SourceTask) == sources * len(CPRS)
    assert len(manual_queue(context).jobs) == sources * len(CPRS)
    run_all(context, manual_queue(context))
    assert wait_for(context, results[-1][0].id, {"ready"}, timeout=1).state == "ready"
    intake.close()


def test_a_repeated_key_in_a_batch_gets_its_own_answer(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    earlier, _ = create_request(context, CASEWORKER, CPRS[5], ALL, idempotency_key="same")
    intake, gate, first = _held(context)
    batch = [
        intake.submit(_new(context, CPRS[2])),
        intake.submit(_new(context, CPRS[5], "same")),  # a retry
        intake.submit(_new(context, CPRS[3], "same")),  # the same key, another body
        intake.submit(_new(context, CPRS[4])),
    ]
    gate.open.set()
    assert first.result(10)[1]

    fresh, repeated, reused, other = batch
    assert fresh.result(10)[1] and other.result(10)[1]
    again, created = repeated.result(10)
    assert again.id == earlier.id and not created
    with pytest.raises(Conflict):
        reused.result(10)
    assert _count(context, Request) == 4
    intake.close()


def test_a_queue_that_fails_is_reported_and_the_requests_are_kept(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)

    def refuse(_jobs: list[JobSpec]) -> None:
        raise ConnectionError("redis is gone")

    working, gate._enqueue = gate._enqueue, refuse  # type: ignore[method-assign]
    waiting = _one_batch(context, intake, gate)
    for future in [first, *waiting]:
        with pytest.raises(ConnectionError):
            future.result(10)

    # Stored all the same: the reconciler queues their jobs once they are overdue.
    assert _count(context, Request) == 5
    gate._enqueue = working  # type: ignore[method-assign]
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert reconcile(context, now=later).collects == 5 * len(context.profile.sources)
    intake.close()


def test_a_lost_connection_fails_the_batch_without_trying_each_again(
    make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)
    tries: list[int] = []

    def down(_session: object, news: list[NewRequest]) -> None:
        tries.append(len(news))
        raise OperationalError("INSERT", {}, ConnectionError("the server closed"),
                               connection_invalidated=True)

    monkeypatch.setattr(requests, "_insert", down)
    waiting = _one_batch(context, intake, gate)
    assert first.result(10)[1]
    for future in waiting:
        with pytest.raises(OperationalError):
            future.result(10)
    assert tries == [4]
    intake.close()


def test_a_batch_that_deadlocks_is_stored_one_by_one(
    make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)
    insert = requests._insert

    def deadlock_when_batched(session: Any, news: list[NewRequest]) -> None:
        if len(news) > 1:
            raise OperationalError("INSERT", {}, RuntimeError("deadlock detected"))
        insert(session, news)

    monkeypatch.setattr(requests, "_insert", deadlock_when_batched)
    waiting = _one_batch(context, intake, gate)
    assert all(future.result(10)[1] for future in [first, *waiting])
    assert _count(context, Request) == 5
    intake.close()


def test_a_caller_who_gave_up_is_not_stored_and_the_rest_are(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)
    gone = intake.submit(_new(context, CPRS[1]))
    assert gone.cancel()  # as asyncio does for a cancelled await
    kept = intake.submit(_new(context, CPRS[2]))
    gate.open.set()
    assert first.result(10)[1] and kept.result(10)[1]
    assert intake.submit(_new(context, CPRS[3])).result(10)[1]  # still taking requests
    assert _count(context, Request) == 3
    intake.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_that_died_is_replaced_and_its_callers_are_told(
    make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from exporter.service import intake as intake_module

    context = make_context(manual=True)
    intake = Intake(context)

    def die(_context: object, _news: object) -> None:
        raise SystemExit("stopped")

    monkeypatch.setattr(intake_module, "create_requests", die)
    with pytest.raises(SystemExit):
        intake.submit(_new(context, CPRS[0])).result(10)
    monkeypatch.undo()
    assert intake.submit(_new(context, CPRS[1])).result(10)[1]
    intake.close()


def test_close_stores_what_is_waiting_and_then_refuses(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    intake, gate, first = _held(context)
    waiting = intake.submit(_new(context, CPRS[1]))
    closing = threading.Thread(target=intake.close)
    closing.start()
    gate.open.set()
    closing.join(10)
    assert first.result(0)[1] and waiting.result(0)[1]
    with pytest.raises(RuntimeError, match="closed"):
        intake.submit(_new(context, CPRS[2]))
