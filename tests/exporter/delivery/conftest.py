"""Deliveries against real HTTP servers on loopback: a scripted receiver that fails as
told and then hands over to the reference receiver, and helpers to get a package
ready, register a service and consent to it."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, cast

import orjson
import pytest

from exporter.cli.package import DEMO_CPR
from exporter.cpr import Cpr
from exporter.db.models import Delivery
from exporter.delivery.consents import ConsentSpec, give_consent
from exporter.delivery.deliveries import get_delivery
from exporter.delivery.receiver import Receiver
from exporter.delivery.registry import ServiceSpec, register_service
from exporter.keys import Keyring
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.reconcile import reconcile
from exporter.service.requests import Scope, create_request
from formats import age
from tests.exporter.service.conftest import (  # noqa: F401 - fixtures
    ManualQueue,
    database_url,
    make_context,
    manual_queue,
    run_all,
)

CITIZEN = Actor(Cpr.parse(DEMO_CPR).digits, "citizen")
ADMIN = Actor("admin-1", "admin")


@dataclass
class Seen:
    headers: dict[str, str]
    sha256: str
    size: int
    status: int


@dataclass
class ScriptedReceiver:
    """Answers each POST with the next scripted status (reading the whole body first);
    when the script runs out, the reference receiver decides."""

    receiver: Receiver
    directory: Path
    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Path]:
        return sorted(self.directory.glob("*.zip.age"))


def _handler(scripted: ScriptedReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(headers["content-length"])
            with scripted.lock:
                step = scripted.script.pop(0) if scripted.script else None
            if step is None:
                body = cast(IO[bytes], self.rfile)
                answer = scripted.receiver.handle(headers, body, length)
                status, payload = answer.status, orjson.dumps(answer.body)
                scripted.seen.append(Seen(headers, "", length, status))
            else:
                status = step[0] if isinstance(step, tuple) else step
                data = self.rfile.read(length)
                scripted.seen.append(Seen(headers, hashlib.sha256(data).hexdigest(),
                                          len(data), status))
                payload = b"{}"
            self.send_response(status)
            if step is not None:
                for name, value in (step[1] if isinstance(step, tuple) else {}).items():
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def service_identity() -> age.X25519Identity:
    return age.X25519Identity.generate()


@pytest.fixture
def scripted(tmp_path: Path, keyring: Keyring,
             service_identity: age.X25519Identity) -> Iterator[ScriptedReceiver]:
    directory = tmp_path / "received"
    receiver = Receiver([service_identity], [keyring.public_key], directory)
    scripted = ScriptedReceiver(receiver, directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(scripted))
    server.daemon_threads = True
    scripted.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()


def ready_request(context: ServiceContext) -> str:
    """A request of the demo citizen, run to ``ready`` on the manual queue."""
    queue = manual_queue(context)
    request, _ = create_request(context, CITIZEN, Cpr.parse(DEMO_CPR), Scope())
    run_all(context, queue)
    return request.id


def webhook_service(context: ServiceContext, url: str, recipient: str, name: str = "Mit Arkiv") \
        -> str:
    service = register_service(context, ADMIN, ServiceSpec(
        name=name, description="A personal data archive", homepage="https://arkiv.example",
        privacy_policy="https://arkiv.example/privacy", age_recipient=recipient,
        webhook_url=url,
    ))
    return service.id


def consent_to(context: ServiceContext, service_id: str, **kw: Any) -> str:
    consent = give_consent(context, CITIZEN, CITIZEN.subject, ConsentSpec(
        service_id=service_id, purpose="Keep a copy of my municipal data", **kw))
    return consent.id


def drive(context: ServiceContext, delivery_id: str, *, until: set[str],
          timeout: float = 30.0) -> Delivery:
    """Run jobs and the reconciler (which queues due retries) until the delivery is in
    one of ``until``."""
    queue = manual_queue(context)
    deadline = time.monotonic() + timeout
    while True:
        run_all(context, queue)
        delivery = get_delivery(context, delivery_id)
        if delivery.state in until:
            return delivery
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery is still {delivery.state}")
        time.sleep(0.05)
        reconcile(context)
