"""Citizen A reaches nothing of citizen B's through any page: every page route of the
app is tried with B's ids, as A, and each one answers as if they did not exist (or
refuses), shows nothing of B's, and changes nothing of B's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from exporter.api.problems import is_api_path
from exporter.db.models import Consent, Contribution, Flag, FlagStatement, Mandate, Request
from exporter.delivery.consents import ConsentSpec, give_consent
from exporter.delivery.mandates import MandateSpec, grant_mandate, revoke_mandate
from exporter.flags import ContributionSpec, FlagSpec, add_contribution, raise_flag
from exporter.service.audit import Actor
from exporter.service.requests import Scope, create_request
from exporter.web.portal import ROUTERS
from tests.exporter.flags.test_flags import first_record
from tests.portal import BENT, CARL, Portal, browser_client, csrf_of, log_in

pytestmark = pytest.mark.provider

B_NAME = "Bent Testesen"
OWNED = ("request_id", "consent_id", "mandate_id", "flag_id", "contribution_id")


def statements(portal: Portal, flag_id: str) -> int:
    with portal.context.sessions() as session:
        return len(session.scalars(select(FlagStatement).where(
            FlagStatement.flag_id == flag_id)).all())


@pytest.fixture
def bents(portal: Portal) -> Iterator[dict[str, str]]:
    """Bent's request (run to the end), consent, mandate (given to Carl), a flag on a
    record of his package and a contribution."""
    from exporter.cpr import Cpr

    actor = Actor(BENT, "citizen")
    request, _ = create_request(portal.context, actor, Cpr(BENT), Scope(datasets=("person",)))
    deadline = time.monotonic() + 60
    while True:
        with portal.context.sessions() as session:
            state = session.get(Request, request.id).state  # type: ignore[union-attr]
        if state not in ("received", "collecting", "assembling"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    consent = give_consent(portal.context, actor, BENT, ConsentSpec(
        service_id=portal.service_id, purpose="Bent's archive"))
    mandate = grant_mandate(portal.context, actor, BENT, MandateSpec(
        representative=CARL, rights=("request", "push"),
        valid_until=datetime.now(UTC) + timedelta(days=30), subject_name=B_NAME,
        representative_name="Carl"))
    with portal.context.sessions() as session:
        package = session.get(Request, request.id).package  # type: ignore[union-attr]
        assert package is not None
        package_id = package.id
    record = first_record(portal.context, package_id, "person")
    flag, _ = raise_flag(portal.context, actor, BENT, FlagSpec(package_id, record["id"],
                                                               "Min adresse er forkert"))
    contribution = add_contribution(portal.context, actor, BENT, ContributionSpec(
        "statement", "Bents egen note", "Noget om Bent"))
    yield {"request_id": request.id, "consent_id": consent.id, "mandate_id": mandate.id,
           "flag_id": flag.id, "contribution_id": contribution.id, "state": state,
           "statements": str(statements(portal, flag.id))}
    revoke_mandate(portal.context, actor, BENT, mandate.id)  # Carl's other tests expect none


@pytest.fixture
def anna(portal: Portal) -> Iterator[httpx.Client]:
    with browser_client() as client:
        log_in(client, portal, "anna")
        yield client


def page_routes() -> list[tuple[str, str]]:
    """Every page route the app serves (the web package's routers are all it has)."""
    routes = []
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and not is_api_path(route.path):
                routes.extend((method, route.path) for method in sorted(route.methods))
    return routes


def test_every_page_route_with_b_s_ids_gives_a_nothing(portal: Portal, bents: dict[str, str],
                                                       anna: httpx.Client) -> None:
    values = {**bents, "service_id": portal.service_id, "name": "index.html"}
    csrf = csrf_of(anna.get(f"{portal.url}/mine-data").text)
    tried = 0
    # Logging out last: it ends A's session.
    routes = sorted(page_routes(), key=lambda r: r[1] == "/log-ud")
    for method, path in routes:
        names = re.findall(r"{(\w+)(?::path)?}", path)
        unknown = [n for n in names if n not in values]
        assert not unknown, f"add {unknown} of {path} to this test"
        url = re.sub(r"{(\w+)(?::path)?}", lambda m: values[m.group(1)], path)
        if method == "GET":
            answer = anna.get(portal.url + url)
        else:
            answer = anna.post(portal.url + url, data={
                "csrf": csrf, "service": portal.service_id, "who": bents["mandate_id"],
                "next": "/mine-data", "wrong": "Anna skriver her"})
        tried += 1
        body = answer.text
        assert B_NAME not in body and BENT not in body and "720150" not in body, (method, path)
        for key in OWNED:
            if key not in names:
                assert bents[key] not in body, (method, path, key)
        assert "Bents egen note" not in body and "Min adresse er forkert" not in body
        if any(n in names for n in OWNED):
            assert answer.status_code in (403, 404), (method, path, answer.status_code)
        else:
            assert answer.status_code < 500, (method, path, answer.status_code)
    assert tried >= 30
    # Nothing of Bent's changed, and Anna never acts for him.
    with portal.context.sessions() as session:
        assert session.get(Request, bents["request_id"]).state == bents["state"]  # type: ignore[union-attr]
        assert session.get(Consent, bents["consent_id"]).state == "active"  # type: ignore[union-attr]
        assert session.get(Mandate, bents["mandate_id"]).revoked_at is None  # type: ignore[union-attr]
        assert session.get(Flag, bents["flag_id"]).state == "received"  # type: ignore[union-attr]
        assert session.get(Contribution, bents["contribution_id"]).withdrawn_at is None  # type: ignore[union-attr]
    assert str(statements(portal, bents["flag_id"])) == bents["statements"]
    assert "på vegne af" not in anna.get(f"{portal.url}/mine-data").text


def test_the_api_with_a_session_gives_a_nothing_of_b_s(portal: Portal, bents: dict[str, str],
                                                       anna: httpx.Client) -> None:
    request = f"{portal.url}/v1/requests/{bents['request_id']}"
    assert anna.get(request).status_code == 404
    assert anna.get(request + "/package").status_code == 404
    assert anna.get(f"{portal.url}/v1/consents/{bents['consent_id']}").status_code == 404
    mine = anna.get(f"{portal.url}/v1/requests").json()
    assert bents["request_id"] not in {r["id"] for r in mine}
    with portal.context.sessions() as session:
        assert not session.scalars(select(Consent).where(
            Consent.subject_cpr == BENT, Consent.state == "revoked")).all()

