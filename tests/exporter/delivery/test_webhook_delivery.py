"""Pushing packages to a real webhook receiver on loopback: retries, idempotency,
dead letters, revoked consent, and what the receiver ends up with."""

from __future__ import annotations

from collections.abc import Callable

from exporter.delivery.consents import revoke_consent
from exporter.delivery.deliveries import create_delivery
from exporter.delivery.targets import Outgoing, WebhookTarget
from exporter.keys import Keyring
from exporter.service.context import ServiceContext
from formats import age
from formats.verify import verify_package
from tests.exporter.delivery.conftest import (
    CITIZEN,
    ScriptedReceiver,
    consent_to,
    drive,
    ready_request,
    webhook_service,
)
from tests.servers import free_port

FAST = {"delivery_retry_base_seconds": 0.05, "delivery_retry_max_seconds": 0.2}


def test_two_500s_then_200_delivers_exactly_once(
    make_context: Callable[..., ServiceContext], scripted: ScriptedReceiver,
    service_identity: age.X25519Identity, keyring: Keyring,
) -> None:
    context = make_context(manual=True, **FAST)
    request_id = ready_request(context)
    service_id = webhook_service(context, scripted.url, str(service_identity.recipient))
    consent_to(context, service_id)
    scripted.script = [500, 500]
    delivery, created = create_delivery(context, CITIZEN, CITIZEN.subject, request_id,
                                        service_id)
    assert created
    done = drive(context, delivery.id, until={"delivered", "dead_letter"})
    assert done.state == "delivered" and done.attempt == 3
    assert [s.status for s in scripted.seen] == [500, 500, 200]
    ids = {s.headers["webhook-id"] for s in scripted.seen}
    assert ids == {delivery.id}
    # every attempt sent the same bytes: the header is made once and kept
    assert scripted.seen[0].sha256 == scripted.seen[1].sha256
    assert [p.name for p in scripted.received()] == [f"{delivery.id}.zip.age"]
    assert verify_package(scripted.directory / f"{delivery.id}.zip", keyring.public_key).ok
    assert [a.status_code for a in done.attempts] == [500, 500, 200]
    assert done.sha256 and all(a.sha256 == done.sha256 for a in done.attempts)
    # the same delivery pushed again (a lost 200) is acknowledged, not stored twice
    again = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service_id)
    assert again[0].id == delivery.id and not again[1]


def test_a_receiver_that_is_down_ends_in_dead_letter(
    make_context: Callable[..., ServiceContext], service_identity: age.X25519Identity,
) -> None:
    context = make_context(manual=True, delivery_max_attempts=3, **FAST)
    request_id = ready_request(context)
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    service_id = webhook_service(context, url, str(service_identity.recipient))
    consent_to(context, service_id)
    delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service_id)
    done = drive(context, delivery.id, until={"delivered", "dead_letter"})
    assert done.state == "dead_letter" and done.attempt == 3
    assert done.last_error is not None and done.last_error.startswith("unreachable")
    assert [a.outcome for a in done.attempts] == ["retry", "retry", "retry"]


def test_revoked_between_attempts_sends_nothing_more(
    make_context: Callable[..., ServiceContext], scripted: ScriptedReceiver,
    service_identity: age.X25519Identity,
) -> None:
    context = make_context(manual=True, delivery_retry_base_seconds=0.3,
                           delivery_retry_max_seconds=0.3)
    request_id = ready_request(context)
    service_id = webhook_service(context, scripted.url, str(service_identity.recipient))
    consent_id = consent_to(context, service_id)
    scripted.script = [(503, {"retry-after": "0"})]
    delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service_id)
    drive(context, delivery.id, until={"retry_wait"})
    revoke_consent(context, CITIZEN, CITIZEN.subject, consent_id)
    done = drive(context, delivery.id, until={"cancelled", "delivered", "dead_letter"})
    assert done.state == "cancelled" and done.last_error == "the consent was revoked"
    assert len(scripted.seen) == 1 and scripted.received() == []


def test_revoked_while_a_retry_is_queued_is_cancelled_by_the_job(
    make_context: Callable[..., ServiceContext], scripted: ScriptedReceiver,
    service_identity: age.X25519Identity,
) -> None:
    """The job re-checks the consent itself, even when its attempt was already queued."""
    context = make_context(manual=True, **FAST)
    request_id = ready_request(context)
    service_id = webhook_service(context, scripted.url, str(service_identity.recipient))
    consent_id = consent_to(context, service_id)
    delivery, _ = create_delivery(context, CITIZEN, CITIZEN.subject, request_id, service_id)
    with context.sessions.begin() as session:  # as if revoked by a racing transaction
        from exporter.db.models import Consent

        consent = session.get_one(Consent, consent_id)
        consent.state = "revoked"
    done = drive(context, delivery.id, until={"cancelled", "delivered"})
    assert done.state == "cancelled"
    assert scripted.seen == []



def test_a_package_that_reads_differently_twice_is_not_signed_but_retried(
    keyring: Keyring,
) -> None:
    """The webhook signature reads the body twice; if the two reads differ, signing it
    would give the key away, so nothing is sent and the attempt is a retry."""
    reads = iter([[b"age-encryption.org/v1\n", b"one"], [b"age-encryption.org/v1\n", b"two"]])
    sent: list[bytes] = []
    outcome = WebhookTarget().send(Outgoing(
        delivery_id="d-1", package_id="p-1", size=25, body=lambda: next(reads),
        signing_key=keyring.signing_key, check=lambda: sent.append(b"checked"),
        timeout=5, webhook_url="http://127.0.0.1:9/never-reached",
    ))
    assert outcome.result == "retry" and "changed" in (outcome.error or "")
    assert sent == []  # refused before the connection was opened
