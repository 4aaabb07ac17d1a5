"""Telling recipients (GDPR Art. 19): when a record is corrected, exactly the services
that received it get a signed correction notice, retried on failure, visible to the
citizen, and not lost or doubled when Redis is flushed or a worker dies."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import select

from exporter.db.models import CorrectionNotice
from exporter.delivery.deliveries import create_delivery
from exporter.delivery.receiver import Receiver, make_server
from exporter.flags import FlagSpec, FlagState, decide_flag, raise_flag, take_flag
from exporter.keys import Keyring
from exporter.service.context import ServiceContext
from exporter.service.reconcile import reconcile
from formats import age
from tests.exporter.delivery.conftest import (
    CITIZEN,
    ScriptedReceiver,
    consent_to,
    drive,
    webhook_service,
)
from tests.exporter.flags.test_flags import CASEWORKER, first_record, ready_package
from tests.exporter.service.conftest import manual_queue, run_all

FAST = {"delivery_retry_base_seconds": 0.05, "delivery_retry_max_seconds": 0.2}


def _receiver(tmp_path: Path, name: str, keyring: Keyring) -> tuple[str, Path, object]:
    identity = age.X25519Identity.generate()
    directory = tmp_path / name
    server = make_server(Receiver([identity], [keyring.public_key], directory), "127.0.0.1", 0)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    return str(identity.recipient), directory, server


def _notices(context: ServiceContext) -> list[CorrectionNotice]:
    with context.sessions() as session:
        return list(session.scalars(select(CorrectionNotice).order_by(CorrectionNotice.id)))


def _drive_notices(context: ServiceContext, timeout: float = 30.0) -> list[CorrectionNotice]:
    queue = manual_queue(context)
    deadline = time.monotonic() + timeout
    while True:
        run_all(context, queue)
        notices = _notices(context)
        if all(n.state in ("delivered", "dead_letter") for n in notices):
            return notices
        assert time.monotonic() < deadline, [n.state for n in notices]
        time.sleep(0.05)
        reconcile(context)


def test_exactly_the_services_that_received_the_record_are_told(
        make_context: Callable[..., ServiceContext], scripted: ScriptedReceiver,
        service_identity: age.X25519Identity, keyring: Keyring, tmp_path: Path) -> None:
    context = make_context(manual=True, **FAST)
    everything_id, package_id = ready_package(context, CITIZEN.subject)
    person_id, _ = ready_package(context, CITIZEN.subject, datasets=("person",))
    one_key, one_dir, one = _receiver(tmp_path, "one", keyring)
    three_key, three_dir, three = _receiver(tmp_path, "three", keyring)
    first = webhook_service(context, f"http://127.0.0.1:{one.server_address[1]}/hook",  # type: ignore[attr-defined]
                            one_key, name="Et")
    second = webhook_service(context, scripted.url, str(service_identity.recipient), name="To")
    third = webhook_service(context, f"http://127.0.0.1:{three.server_address[1]}/hook",  # type: ignore[attr-defined]
                            three_key, name="Tre")
    for service, request in [(first, everything_id), (second, everything_id),
                             (third, person_id)]:
        consent_to(context, service)
        delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request, service)
        assert drive(context, delivery.id, until={"delivered", "dead_letter"}).state \
            == "delivered"

    record = first_record(context, package_id)
    flag, _ = raise_flag(context, CITIZEN, CITIZEN.subject,
                         FlagSpec(package_id, record["id"], "Forkert titel", field="title"))
    take_flag(context, CASEWORKER, flag.id)
    scripted.script = [500]  # the second service fails once, then takes it
    decide_flag(context, CASEWORKER, flag.id, FlagState.CORRECTED,
                "Titlen er rettet i sagssystemet.")
    notices = _drive_notices(context)
    assert sorted(n.service_id for n in notices) == sorted([first, second])
    assert all(n.state == "delivered" for n in notices)
    assert [n.attempt for n in notices if n.service_id == second] == [2]
    kept = list(one_dir.glob("*.correction.json"))
    assert len(kept) == 1 and not list(three_dir.glob("*.correction.json"))
    body = orjson.loads(kept[0].read_bytes())
    assert body["type"] == "egnedata.record.corrected" and body["record"] == record["id"]
    assert body["field"] == "title" and CITIZEN.subject not in kept[0].read_text()
    signed = [s for s in scripted.seen if s.headers.get("content-type") == "application/json"]
    assert [s.status for s in signed] == [500, 200]
    assert all(s.headers["webhook-signature"].startswith("v1a,") for s in signed)


def test_notices_survive_a_flushed_queue_and_a_dead_worker(
        make_context: Callable[..., ServiceContext], keyring: Keyring, tmp_path: Path) -> None:
    context = make_context(manual=True, lease_seconds=0.5, **FAST)
    request_id, package_id = ready_package(context, CITIZEN.subject)
    key, directory, server = _receiver(tmp_path, "svc", keyring)
    service = webhook_service(context, f"http://127.0.0.1:{server.server_address[1]}/hook",  # type: ignore[attr-defined]
                              key)
    consent_to(context, service)
    delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service)
    drive(context, delivery.id, until={"delivered"})
    record = first_record(context, package_id)
    flag, _ = raise_flag(context, CITIZEN, CITIZEN.subject,
                         FlagSpec(package_id, record["id"], "Forkert"))
    take_flag(context, CASEWORKER, flag.id)
    decide_flag(context, CASEWORKER, flag.id, FlagState.CORRECTED, "Rettet i kildesystemet.")
    queue = manual_queue(context)
    queue.take()  # Redis flushed: the job is gone, the row is not
    (notice,) = _notices(context)
    assert notice.state == "pending"
    # A worker claims the attempt and dies before it sends.
    from datetime import UTC, datetime

    from exporter.flags.notices import NOTICE_LEASE

    with context.sessions.begin() as session:
        assert NOTICE_LEASE.claim(session, notice.id, 1, now=datetime.now(UTC),
                                  seconds=0.5, state="sending") is not None
    time.sleep(0.6)
    (done,) = _drive_notices(context)
    assert done.state == "delivered" and done.attempt == 2
    assert len(list(directory.glob("*.correction.json"))) == 1
    reconcile(context)
    run_all(context, queue)
    assert len(list(directory.glob("*.correction.json"))) == 1


def test_a_package_still_on_its_way_is_told_once_it_arrives(
        make_context: Callable[..., ServiceContext], keyring: Keyring, tmp_path: Path) -> None:
    context = make_context(manual=True, **FAST)
    request_id, package_id = ready_package(context, CITIZEN.subject)
    key, directory, server = _receiver(tmp_path, "svc", keyring)
    service = webhook_service(context, f"http://127.0.0.1:{server.server_address[1]}/hook",  # type: ignore[attr-defined]
                              key)
    consent_to(context, service)
    delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service)
    queue = manual_queue(context)
    sends = queue.take()  # the package has not been sent yet
    record = first_record(context, package_id)
    flag, _ = raise_flag(context, CITIZEN, CITIZEN.subject,
                         FlagSpec(package_id, record["id"], "Forkert"))
    take_flag(context, CASEWORKER, flag.id)
    decide_flag(context, CASEWORKER, flag.id, FlagState.CORRECTED, "Rettet i kildesystemet.")
    for kind, _job_id, args in queue.take():  # the notice first: it must wait
        context.run_job(kind, args)
    (waiting,) = _notices(context)
    assert waiting.state == "retry_wait" and "not reached" in (waiting.last_error or "")
    for kind, _job_id, args in sends:
        context.run_job(kind, args)
    assert drive(context, delivery.id, until={"delivered"}).state == "delivered"
    (done,) = _drive_notices(context)
    assert done.state == "delivered"
    assert len(list(directory.glob("*.correction.json"))) == 1
