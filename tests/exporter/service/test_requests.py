"""Requests through the job functions, on SQLite and PostgreSQL: fulfilment, gaps,
duplicates, lost and killed jobs, cancelling, deadlines, expiry and the audit log."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from exporter.cli.package import DEMO_CPR
from exporter.cpr import Cpr
from exporter.db.models import AuditEvent, Package, Request, SourceTask
from exporter.deadlines import danish_date, response_deadline
from exporter.keys import Keyring
from exporter.service.audit import Actor, seal_all, verify_chain
from exporter.service.collecting import collect_task
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import IllegalTransition, RequestState, check_transition
from exporter.service.reconcile import expire_packages, reconcile
from exporter.service.requests import (
    Conflict,
    Scope,
    UnknownDataset,
    cancel_request,
    create_request,
    extend_deadline,
    retry_source,
)
from exporter.settings import Settings
from formats.verify import verify_package
from tests.conftest import demo_profile_with
from tests.exporter.service.conftest import (
    ContextFactory,
    manual_queue,
    package_bytes,
    package_zip,
    run_all,
    wait_for,
)

CITIZEN = Actor(Cpr.parse(DEMO_CPR).digits, "citizen")
CASEWORKER = Actor("cw-1", "caseworker")
ALL = Scope()


def _events(context: object, request_id: str) -> list[str]:
    with context.sessions() as session:  # type: ignore[attr-defined]
        return list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.request_id == request_id)
            .order_by(AuditEvent.id)
        ))


def test_a_request_ends_with_a_verified_encrypted_package(
    make_context: ContextFactory, keyring: Keyring, tmp_path: Path
) -> None:
    context = make_context()
    request, created = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    assert created
    assert request.deadline == response_deadline(danish_date(request.received_at))
    row = wait_for(context, request.id, {"ready", "ready_with_gaps", "failed"})
    assert row.state == "ready"
    assert all(t.state == "done" for t in row.tasks)
    # Every source has records about the demo citizen but Egne Data's own (no flags yet).
    assert [t.source_id for t in row.tasks if not t.records_accepted] == ["egnedata"]
    assert row.package is not None and row.package.complete
    with context.blobs.open_reader(row.package.blob_key) as raw:
        assert raw.read(21) == b"age-encryption.org/v1"
    path = tmp_path / "package.zip"
    path.write_bytes(package_bytes(context, request.id, keyring))
    archive = package_zip(context, request.id, keyring)
    report = verify_package(path, keyring.public_key)
    assert report.ok and report.proves_provenance, report.problems
    catalogue = orjson.loads(archive.read("package.jsonld"))
    assert row.package.id in orjson.dumps(catalogue).decode()
    assert _events(context, request.id) == [
        "request.received", "request.collecting",
        *["source.collected"] * len(context.profile.sources),
        "request.assembling", "request.ready",
    ]
    seal_all(context.sessions.begin)
    with context.sessions() as session:
        check = verify_chain(session)
    assert check.ok and check.unsealed == 0 and check.events >= 7


def test_a_failing_source_leaves_a_visible_gap_and_can_be_retried(
    make_context: ContextFactory, keyring: Keyring
) -> None:
    profile = demo_profile_with()
    sources = tuple(
        s.model_copy(update={"settings": {**s.settings, "fail_with": "unreachable"},
                             "retries": 0})
        if s.id == "ydelsesindeks" else s
        for s in profile.sources
    )
    context = make_context(profile=profile.model_copy(update={"sources": sources}))
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    row = wait_for(context, request.id, {"ready", "ready_with_gaps", "failed"})
    assert row.state == "ready_with_gaps"
    failed = [t for t in row.tasks if t.state == "failed"]
    assert [(t.source_id, t.last_error) for t in failed] == [("ydelsesindeks", "unreachable")]
    assert row.package is not None and not row.package.complete
    archive = package_zip(context, request.id, keyring)
    assert "ydelsesindeks" not in " ".join(archive.namelist())
    index = archive.read("index.html").decode()
    assert "kunne ikke nås" in index
    first_key = row.package.blob_key

    retry_source(context, CASEWORKER, request.id, "ydelsesindeks")
    row = wait_for(context, request.id, {"ready", "ready_with_gaps", "failed"})
    assert row.state == "ready_with_gaps" and row.generation == 2
    assert row.package is not None and row.package.blob_key != first_key
    assert not context.blobs.exists(first_key)
    with pytest.raises(Conflict):
        retry_source(context, CASEWORKER, request.id, "cpr")  # not failed


def test_duplicate_and_stale_jobs_change_nothing(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    jobs = queue.take()
    assert len(jobs) == len(context.profile.sources)
    for kind, _id, args in jobs + jobs:  # every collect job delivered twice
        context.run_job(kind, args)
    assemble = queue.take()
    assert [j[0] for j in assemble] == ["assemble"]
    for kind, _id, args in assemble + assemble:
        context.run_job(kind, args)
    assert queue.take() == []
    row = wait_for(context, request.id, {"ready"}, timeout=1)
    assert all(t.attempt == 1 for t in row.tasks)
    assert _events(context, request.id).count("request.ready") == 1
    with context.sessions() as session:
        assert session.scalar(
            select(Package.id).where(Package.request_id == request.id)
        ) == row.package.id  # type: ignore[union-attr]


def test_lost_jobs_are_found_again_by_the_reconciler(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    queue.take()  # Redis flushed: the jobs are gone
    assert reconcile(context).collects == 0  # too early: they may still be on their way
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert reconcile(context, now=later).collects == len(context.profile.sources)
    assert reconcile(context, now=later).collects == 0  # queued now: not again
    run_all(context, queue)
    assert wait_for(context, request.id, {"ready"}, timeout=1).state == "ready"


def test_the_reconciler_moves_on_what_a_dead_job_left_half_done(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    waiting, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    request, _ = create_request(context, CASEWORKER, Cpr.parse("6101901234"), ALL)
    jobs = queue.take()
    later = datetime.now(UTC) + timedelta(seconds=5)
    for kind, _id, args in jobs[3:]:  # the second request's collects only
        context.run_job(kind, args)
    queue.take()  # its assemble job is lost...
    with context.sessions.begin() as session:  # ...and so is its move to assembling
        session.execute(update(Request).where(Request.id == request.id)
                        .values(state="collecting"))
    queue.jobs = jobs[:3]  # the first request's jobs are still queued: leave them be
    done = reconcile(context, now=later)
    assert (done.collects, done.assemblies) == (0, 1)
    assert [job[0] for job in queue.jobs] == ["collect"] * 3 + ["assemble"]
    # The assembly's worker dies holding its lease; once it runs out, it runs again.
    lease = datetime.now(UTC) + timedelta(seconds=1)
    with context.sessions.begin() as session:
        session.execute(update(Request).where(Request.id == request.id)
                        .values(assemble_attempt=1, assemble_lease_until=lease))
    assert reconcile(context).assemblies == 0  # the lease still holds
    time.sleep(1.1)
    assert reconcile(context).assemblies == 1
    run_all(context, queue)
    assert wait_for(context, request.id, {"ready"}, timeout=1).state == "ready"
    assert _events(context, request.id).count("request.ready") == 1
    assert wait_for(context, waiting.id, {"ready"}, timeout=1).state == "ready"


def test_staged_data_that_is_gone_is_collected_again(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    for kind, _id, args in queue.take():
        context.run_job(kind, args)
    (assemble,) = queue.take()
    with context.sessions() as session:
        tasks = session.scalars(select(SourceTask).where(SourceTask.request_id == request.id)
                                .order_by(SourceTask.source_id)).all()
    lost = tasks[-1]
    for blob in list(context.blobs.list(f"stage/{request.id}/{lost.source_id}/")):
        context.blobs.delete(blob.key)
    context.run_job(assemble[0], assemble[2])
    (again,) = queue.take()
    assert again[0] == "collect" and again[2] == (lost.id, 2)
    assert wait_for(context, request.id, {"collecting"}, timeout=1).state == "collecting"
    context.run_job(again[0], again[2])
    run_all(context, queue)
    row = wait_for(context, request.id, {"ready"}, timeout=1)
    assert row.package is not None and row.package.complete
    events = _events(context, request.id)
    assert events.count("request.collecting") == 2 and events.count("request.ready") == 1


def test_a_collect_whose_worker_died_runs_again_and_the_dead_attempt_is_fenced(
    make_context: ContextFactory,
) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    jobs = queue.take()
    # The first source's worker claims the task and dies before it finishes.
    first_task = jobs[0][2][0]
    with context.sessions.begin() as session:
        session.execute(
            update(SourceTask).where(SourceTask.id == first_task)
            .values(state="running", attempt=1,
                    lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    for kind, _id, args in jobs[1:]:
        context.run_job(kind, args)
    assert reconcile(context).collects == 1
    (retry,) = queue.take()
    assert retry[2] == (first_task, 2)
    context.run_job(retry[0], retry[2])
    run_all(context, queue)
    row = wait_for(context, request.id, {"ready"}, timeout=1)
    task = next(t for t in row.tasks if t.id == first_task)
    assert task.attempt == 2 and task.stage_attempt == 2
    # The dead attempt's job arriving late does nothing.
    collect_task(context, first_task, 1)
    assert _events(context, request.id).count("request.ready") == 1


def test_workers_that_keep_dying_end_in_a_gap_not_a_loop(make_context: ContextFactory) -> None:
    context = make_context(manual=True, max_attempts=2)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), Scope(("person",)))
    (job,) = queue.take()
    with context.sessions.begin() as session:
        session.execute(update(SourceTask).where(SourceTask.id == job[2][0])
                        .values(state="running", attempt=2,
                                lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    reconcile(context)
    run_all(context, queue)
    row = wait_for(context, request.id, {"ready_with_gaps"}, timeout=1)
    assert row.tasks[0].state == "failed" and row.tasks[0].attempt == 3


def test_idempotency_key(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    cpr = Cpr.parse(DEMO_CPR)
    first, created = create_request(context, CITIZEN, cpr, ALL, idempotency_key="k-1")
    again, created_again = create_request(context, CITIZEN, cpr, ALL, idempotency_key="k-1")
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict, match="Idempotency-Key"):
        create_request(context, CITIZEN, cpr, Scope(("person",)), idempotency_key="k-1")
    other = Actor("cw-2", "caseworker")  # keys are per caller
    assert create_request(context, other, cpr, ALL, idempotency_key="k-1")[1]


def test_scope_is_checked_and_narrows_the_sources(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    cpr = Cpr.parse(DEMO_CPR)
    with pytest.raises(UnknownDataset, match="unknown dataset nope"):
        create_request(context, CITIZEN, cpr, Scope(("nope",)))
    with pytest.raises(UnknownDataset, match="start is after its end"):
        create_request(context, CITIZEN, cpr, Scope(None, date(2026, 2, 1), date(2026, 1, 1)))
    request, _ = create_request(context, CITIZEN, cpr, Scope(("person",)))
    assert [t.source_id for t in request.tasks] == ["cpr"]


def test_cancel_stops_the_work(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    cancel_request(context, CITIZEN, request.id)
    run_all(context, queue)
    row = wait_for(context, request.id, {"cancelled"}, timeout=1)
    assert {t.state for t in row.tasks} == {"cancelled"} and row.package is None
    with pytest.raises(Conflict):
        cancel_request(context, CITIZEN, request.id)


def test_deadline_extension_is_capped_at_two_months(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    extend_deadline(context, CASEWORKER, request.id, 1, "Mange sager skal gennemgås")
    row = extend_deadline(context, CASEWORKER, request.id, 1, "Stadig mange sager")
    assert row.extended_deadline == response_deadline(danish_date(row.received_at), 2)
    assert row.extension_reason == "Stadig mange sager"
    with pytest.raises(Conflict, match="at most 2 months"):
        extend_deadline(context, CASEWORKER, request.id, 1, "En gang til")


def test_a_deadline_is_extended_only_within_the_first_month(
        make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    late = datetime.combine(request.deadline + timedelta(days=1), datetime.min.time(), UTC)
    with pytest.raises(Conflict, match="within the first month"):
        extend_deadline(context, CASEWORKER, request.id, 1, "For sent at forlænge", now=late)


def test_expired_packages_are_deleted(make_context: ContextFactory) -> None:
    context = make_context()
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    row = wait_for(context, request.id, {"ready"})
    assert row.package is not None
    key = row.package.blob_key
    assert expire_packages(context) == 0
    assert expire_packages(context, now=datetime.now(UTC) + timedelta(days=31)) == 1
    row = wait_for(context, request.id, {"expired"}, timeout=1)
    assert not context.blobs.exists(key)
    assert list(context.blobs.list(f"stage/{request.id}/")) == []


def test_the_audit_chain_shows_tampering(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    extend_deadline(context, CASEWORKER, request.id, 1, "Mange sager skal gennemgås")
    seal_all(context.sessions.begin)
    with context.sessions() as session:
        assert verify_chain(session).ok
        seq = session.scalar(select(AuditEvent.seq).where(
            AuditEvent.request_id == request.id, AuditEvent.action == "request.received"))
    with context.sessions.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq)
                        .values(actor="someone-else"))
    with context.sessions() as session:
        check = verify_chain(session)
    assert not check.ok and check.broken_at == seq and "changed" in (check.problem or "")


def test_illegal_transitions_are_refused() -> None:
    check_transition("received", RequestState.COLLECTING)
    for current, wanted in [("ready", RequestState.COLLECTING), ("cancelled", RequestState.READY),
                            ("expired", RequestState.READY), ("received", RequestState.READY)]:
        with pytest.raises(IllegalTransition):
            check_transition(current, wanted)


def test_no_personal_data_in_job_arguments(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    queue = manual_queue(context)
    create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    digits = Cpr.parse(DEMO_CPR).digits
    for job in queue.jobs:
        text = orjson.dumps([job[1], list(job[2])]).decode()
        assert digits not in text and digits[:6] not in text


def test_request_rows_hold_the_state_machine(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    with context.sessions() as session:
        row = session.get(Request, request.id)
        assert row is not None and row.state == "received"
        assert len(row.tasks) == len(context.profile.sources)


def test_database_errors_do_not_show_personal_data(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    with context.sessions() as session:
        row = {c.key: getattr(session.get(Request, request.id), c.key)
               for c in Request.__table__.columns}
    with pytest.raises(IntegrityError) as refused, context.sessions.begin() as session:
        session.execute(Request.__table__.insert(), row)  # the same id again
    assert Cpr.parse(DEMO_CPR).digits not in str(refused.value)


def test_each_transition_writes_the_state_once(make_context: ContextFactory) -> None:
    context = make_context(manual=True)
    writes: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("UPDATE requests SET state="):
            writes.append(statement)

    event.listen(context.engine, "before_cursor_execute", count)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), ALL)
    run_all(context, manual_queue(context))
    event.remove(context.engine, "before_cursor_execute", count)
    moves = [e for e in _events(context, request.id) if e != "request.received"
             and e.startswith("request.")]
    assert moves == ["request.collecting", "request.assembling", "request.ready"]
    assert len(writes) == len(moves)


def test_a_period_leaves_out_records_outside_it(
    make_context: ContextFactory, keyring: Keyring, tmp_path: Path
) -> None:
    context = make_context()
    scope = Scope(("udbetalinger", "dokumenter"), date(2026, 1, 1), date(2026, 3, 31))
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), scope)
    row = wait_for(context, request.id, {"ready", "ready_with_gaps", "failed"})
    assert row.state == "ready"
    results = {r["dataset_id"]: r for t in row.tasks for r in t.results or []}
    assert results["udbetalinger"]["outside_period"] > 0
    assert results["udbetalinger"]["accepted"] > 0
    archive = package_zip(context, request.id, keyring)
    payments = orjson.loads(archive.read("data/udbetalinger.jsonld"))["@graph"]
    assert payments and all("2026-01-01" <= p["paymentDate"] <= "2026-03-31"
                            for p in payments)
    index = archive.read("index.html").decode()
    assert "Afgrænset til perioden: 2026-01-01 – 2026-03-31" in index
    assert "Limited to the period: 2026-01-01 – 2026-03-31" in archive.read(
        "index.en.html").decode()
    from pyld import jsonld

    from tests.formats.test_jsonld_offline import offline_loader

    root = tmp_path / "unpacked"
    archive.extractall(root)
    expanded = jsonld.expand(
        orjson.loads((root / "package.jsonld").read_bytes()),
        {"base": (root / "package.jsonld").as_uri(), "documentLoader": offline_loader(root)},
    )
    temporal = expanded[0]["http://purl.org/dc/terms/temporal"][0]
    assert temporal["https://schema.org/startDate"][0]["@value"] == "2026-01-01"
    assert temporal["https://schema.org/endDate"][0]["@value"] == "2026-03-31"


def test_warm_up_opens_the_pool_and_survives_a_missing_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh process opens its connections before it takes work; if the database is
    not there yet, it starts anyway and says so."""
    context = ServiceContext.build(Settings(data_dir=tmp_path), migrate=True)
    try:
        context.warm_up()
        assert context.engine.pool.checkedin() == context.engine.pool.size()  # type: ignore[attr-defined]
    finally:
        context.close()
    gone = ServiceContext.build(
        Settings(data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"),
        migrate=False)
    try:
        gone.warm_up()
    finally:
        gone.close()
    assert "cannot reach the database yet" in caplog.text
