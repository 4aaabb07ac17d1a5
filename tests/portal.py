"""The citizen's portal as it runs for real, for the tests: the app served by uvicorn on
a free port, logging in at the local OpenID Provider (npm ``oidc-provider``, started
here), on PostgreSQL, with a registered test service whose webhook is the reference
receiver. Fixtures are imported into ``tests/conftest.py``.

:func:`log_in` walks the login the way a browser does, through the provider's own form.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
import uvicorn

from exporter.api.app import create_app
from exporter.delivery.receiver import Receiver, make_server
from exporter.delivery.registry import ServiceSpec, register_service
from exporter.devlogin import STAFF_UNIT_MAP, Client, LocalProvider, ProviderUnavailable
from exporter.keys import Keyring
from exporter.login import CALLBACK_PATH
from exporter.login.flow import STAFF_CALLBACK_PATH
from exporter.login.keys import generate_client_key, public_jwks
from exporter.profile import Profile
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from formats import age
from tests.servers import free_port, postgres_schema

CLIENT_ID = "egnedata-portal"
BASIC_CLIENT_ID = "egnedata-basic"
BASIC_SECRET = "a-client-secret-for-the-basic-test-client"
STAFF_CLIENT_ID = "egnedata-konsol"
PRIVILEGES_CLAIM = "https://data.gov.dk/model/core/eid/privilegesIntermediate"
ANNA, BENT, CARL = "7101901234", "7201501235", "8503821237"


@dataclass
class Portal:
    url: str
    context: ServiceContext
    provider: LocalProvider
    settings: Settings
    service_id: str
    service_identity: age.X25519Identity
    received: Path

    def settings_with(self, **changes: Any) -> Settings:
        return self.settings.model_copy(update=changes)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test runner keeps its own
        pass


def serve(app: Any, port: int) -> tuple[_Server, threading.Thread]:
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                    lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path,
           postgres_url: str) -> Iterator[Portal]:
    """The portal on its own port with the local provider; one for the test run."""
    with running_portal(tmp_path_factory.mktemp("portal"), keys_dir, postgres_url) as running:
        yield running


@contextmanager
def running_portal(folder: Path, keys_dir: Path, postgres_url: str,
                   profile: Profile | None = None) -> Iterator[Portal]:
    """A portal of its own (app, provider, schema, receiver), with ``profile`` in place
    of the demo profile if given; stopped when the block ends."""
    key_file = folder / "client.jwk"
    client_key = generate_client_key(key_file)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    callback = url + CALLBACK_PATH
    clients = [
        Client(CLIENT_ID, [callback], [url + "/logget-ud"], public_jwks(client_key)),
        Client(BASIC_CLIENT_ID, [callback], [url + "/logget-ud"], client_secret=BASIC_SECRET),
        Client(STAFF_CLIENT_ID, [url + STAFF_CALLBACK_PATH], [url + "/konsol/logget-ud"],
               public_jwks(client_key)),
    ]
    try:
        provider = LocalProvider(port=free_port(), clients=clients,
                                 cache=Path(__file__).resolve().parents[1] / ".test-cache",
                                 log=(folder / "provider.log").open("wb"))
    except ProviderUnavailable as exc:
        pytest.fail(f"the local OpenID Provider is needed: {exc}")
    with postgres_schema(postgres_url) as database_url:
        settings = Settings(
            database_url=database_url, blob_url=str(folder / "blobs"), keys_dir=keys_dir,
            public_url=url, login_issuer=provider.issuer, login_client_id=CLIENT_ID,
            login_client_key=key_file, login_privileges_claim=PRIVILEGES_CLAIM,
            staff_login_issuer=provider.issuer, staff_login_client_id=STAFF_CLIENT_ID,
            staff_login_client_key=key_file, staff_unit_map=STAFF_UNIT_MAP,
            lease_seconds=5.0, reconcile_interval_seconds=1.0,
            delivery_retry_base_seconds=0.5,
        )
        context = ServiceContext.build(settings, profile=profile)
        service_identity = age.X25519Identity.generate()
        received = folder / "received"
        receiver = make_server(Receiver([service_identity], [Keyring.load(keys_dir).public_key],
                                        received), "127.0.0.1", 0)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        service = register_service(context, Actor("admin-1", "admin"), ServiceSpec(
            name="Mit Arkiv", description="Et personligt arkiv til dine data.",
            homepage="https://arkiv.example", privacy_policy="https://arkiv.example/privatliv",
            age_recipient=str(service_identity.recipient),
            webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/hook"))
        server, thread = serve(create_app(context), port)
        try:
            yield Portal(url, context, provider, settings, service.id, service_identity,
                         received)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            receiver.shutdown()
            context.close()
            provider.stop()


def _absolute(base: str, location: str) -> str:
    return urljoin(base, location)


def start_login(http: httpx.Client, portal: Portal, next_path: str = "/mine-data",
                account: str = "anna") -> str:
    """Begin at the portal, sign in at the provider's own form; the callback URL the
    provider sends the browser back to (not yet followed)."""
    return start_login_at(http, portal.url, portal.provider.issuer, next_path, account)


def start_login_at(http: httpx.Client, url: str, issuer: str, next_path: str,
                   account: str, *, console: bool = False) -> str:
    """:func:`start_login` for a portal at ``url`` with its provider at ``issuer`` (at
    the console's login with ``console``)."""
    start = "/konsol/log-ind" if console else "/log-ind"
    callback = STAFF_CALLBACK_PATH if console else CALLBACK_PATH
    response = http.get(f"{url}{start}?{urlencode({'next': next_path})}")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(issuer)
    while True:
        response = http.get(location)
        if response.status_code not in (302, 303):
            break
        location = _absolute(location, response.headers["location"])
    form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    assert form is not None, response.text[:500]
    response = http.post(_absolute(location, form.group(1)),
                         data={"prompt": "login", "login": account, "password": "any"})
    location = _absolute(location, response.headers["location"])
    while not location.startswith(url + callback):
        response = http.get(location)
        assert response.status_code in (302, 303), response.text[:500]
        location = _absolute(location, response.headers["location"])
    return location


def log_in(http: httpx.Client, portal: Portal, account: str = "anna",
           next_path: str = "/mine-data") -> httpx.Response:
    """Log ``account`` in through the provider; the portal's answer to the callback."""
    return http.get(start_login(http, portal, next_path, account))


def staff_log_in(http: httpx.Client, portal: Portal, account: str = "sagsbehandler",
                 next_path: str = "/konsol") -> httpx.Response:
    """Log an employee in to the console through the provider; the callback's answer."""
    return http.get(start_login_at(http, portal.url, portal.provider.issuer, next_path,
                                   account, console=True))


def send_request(http: httpx.Client, portal: Portal, datasets: list[str], **period: str) -> str:
    """Ask through the pages as a citizen does (form, check, send); the request's id."""
    csrf = csrf_of(http.get(f"{portal.url}/bestil").text)
    fields = {"csrf": csrf, "datasets": datasets, **period}
    check = http.post(f"{portal.url}/bestil/tjek", data=fields)
    assert check.status_code == 200, check.text[:2000]
    key = re.search(r'name="key" value="([^"]+)"', check.text)
    assert key is not None
    sent = http.post(f"{portal.url}/bestil", data={**fields, "key": key.group(1)})
    assert sent.status_code == 303, sent.text[:2000]
    return sent.headers["location"].split("/")[2].split("?")[0]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def browser_client() -> httpx.Client:
    """An HTTP client that keeps cookies and does not follow redirects, as the tests
    look at every step."""
    return httpx.Client(follow_redirects=False, timeout=30)
