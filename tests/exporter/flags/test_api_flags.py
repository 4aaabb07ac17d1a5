"""Flags and contributions through /v1: the citizen's side, the caseworker's side, and
bad input answered with a clear 4xx and nothing stored."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from exporter.api.app import create_app
from exporter.api.auth import Role
from exporter.cli.package import DEMO_CPR
from exporter.db.models import AuditEvent, Evidence, Flag
from exporter.profile import Profile
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from tests.exporter.api.test_api import OTHER_CPR, assert_problem, bearer, wait_ready

PDF = b"%PDF-1.7\n" + b"y" * 2000 + b"\n%%EOF\n"


@pytest.fixture
def context(tmp_path: Path, keys_dir: Path, demo_profile: Profile) -> Iterator[ServiceContext]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                        blob_url=str(tmp_path / "blobs"), keys_dir=keys_dir,
                        max_body_bytes=4096, evidence_max_bytes=64 * 1024)
    context = ServiceContext.build(settings, profile=demo_profile)
    yield context
    context.close()


@pytest.fixture
def client(context: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(context, run_background=False)) as test_client:
        yield test_client


def _package(client: TestClient, context: ServiceContext) -> tuple[str, dict[str, Any]]:
    headers = bearer(context, DEMO_CPR)
    made = client.post("/v1/requests", json={}, headers=headers)
    body = wait_ready(client, made.headers["location"], headers)
    data = client.get(body["package"]["download"], headers=headers).content
    lines = zipfile.ZipFile(io.BytesIO(data)).read("data/sager.jsonld").split(b"\n")
    return body["package"]["id"], orjson.loads(lines[1].rstrip(b","))


def test_a_flag_from_the_citizen_to_the_caseworker_s_answer(
        client: TestClient, context: ServiceContext) -> None:
    citizen, caseworker = bearer(context, DEMO_CPR), bearer(context, "cw-1", Role.CASEWORKER)
    package_id, record = _package(client, context)
    made = client.post("/v1/flags", headers=citizen, json={
        "package_id": package_id, "record_id": record["id"], "field": "title",
        "wrong": "Titlen er forkert", "right": "Ansøgning om boligstøtte"})
    assert made.status_code == 201, made.text
    flag = made.json()
    assert flag["state"] == "received" and flag["disputed"] and flag["field"] == "title"
    assert made.headers["location"] == f"/v1/flags/{flag['id']}"
    again = client.post("/v1/flags", headers=citizen, json={
        "package_id": package_id, "record_id": record["id"], "wrong": "Og datoen"})
    assert again.status_code == 200 and len(again.json()["statements"]) == 2
    evidence = client.post(f"/v1/flags/{flag['id']}/evidence?filename=brev.pdf",
                           content=PDF, headers={**citizen, "Content-Type": "application/pdf"})
    assert evidence.status_code == 201, evidence.text
    assert client.get(f"/v1/flags/{flag['id']}/evidence/{evidence.json()['id']}",
                      headers=citizen).content == PDF

    queue = client.get("/v1/caseworker/flags", headers=caseworker).json()
    assert [f["id"] for f in queue] == [flag["id"]]
    assert queue[0]["subject"] == "710190-xxxx" and queue[0]["record"] == record
    assert client.post(f"/v1/caseworker/flags/{flag['id']}/decide", headers=caseworker,
                       json={"outcome": "rejected", "answer": "Ikke taget endnu"}
                       ).status_code == 409
    client.post(f"/v1/caseworker/flags/{flag['id']}/take", headers=caseworker)
    extended = client.post(f"/v1/caseworker/flags/{flag['id']}/extend", headers=caseworker,
                           json={"months": 1, "reason": "Vi spørger sagssystemet."})
    assert extended.json()["extended_deadline"] is not None
    read = client.get(f"/v1/caseworker/flags/{flag['id']}/evidence/{evidence.json()['id']}",
                      headers=caseworker)
    assert read.content == PDF
    decided = client.post(f"/v1/caseworker/flags/{flag['id']}/decide", headers=caseworker,
                          json={"outcome": "rejected",
                                "answer": "Titlen står som sagen blev oprettet."})
    assert decided.json()["state"] == "rejected"
    answer = client.get(f"/v1/flags/{flag['id']}", headers=citizen).json()
    assert answer["answer"] == "Titlen står som sagen blev oprettet."
    assert "Datatilsynet" in answer["complaint"]["da"] and not answer["disputed"]
    with context.sessions() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "evidence.read" in actions and "flag.rejected" in actions
    # Citizens do not reach the caseworkers' side.
    assert_problem(client.get("/v1/caseworker/flags", headers=citizen), 403)


def test_bad_flags_get_a_clear_4xx_and_nothing_is_stored(
        client: TestClient, context: ServiceContext) -> None:
    citizen, other = bearer(context, DEMO_CPR), bearer(context, OTHER_CPR)
    package_id, record = _package(client, context)
    good = {"package_id": package_id, "record_id": record["id"], "wrong": "Forkert"}
    for body, code in [
        ({**good, "record_id": "urn:egnedata:0751:sagsindeks:case:NOPE"}, 404),
        ({**good, "package_id": "00000000-0000-4000-8000-000000000000"}, 404),
        ({**good, "package_id": "x" * 36}, 404),
        ({**good, "field": "noSuchField"}, 422),
        ({**good, "wrong": "x"}, 422),
        ({**good, "wrong": 17}, 422),
        ({**good, "extra": 1}, 422),
        ({**good, "wrong": "<b>" * 2000}, 413),  # over max_body_bytes here
    ]:
        assert_problem(client.post("/v1/flags", json=body, headers=citizen), code)
    assert_problem(client.post("/v1/flags", json=good, headers=other), 404)
    with context.sessions() as session:
        assert session.scalars(select(Flag)).all() == []
    flag = client.post("/v1/flags", json=good, headers=citizen).json()
    url = f"/v1/flags/{flag['id']}/evidence"
    for content, code in [(b"MZ not a pdf", 422), (b"", 422), (b"%PDF-" + b"0" * 70_000, 413),
                          (b"<svg onload=alert(1)>", 422)]:
        assert_problem(client.post(url, content=content,
                                   headers={**citizen, "Content-Type": "application/pdf"}),
                       code)
    huge = client.post(url, content=b"%PDF-", headers={
        **citizen, "Content-Type": "application/pdf", "Content-Length": str(50 * 1024 * 1024)})
    assert huge.status_code == 413
    assert_problem(client.post(url, content=PDF, headers=other), 404)
    with context.sessions() as session:
        assert session.scalars(select(Evidence)).all() == []
    assert list(context.blobs.list("evidence/")) == []
    assert_problem(client.get(f"/v1/flags/{flag['id']}", headers=other), 404)
    assert_problem(client.post(f"/v1/flags/{flag['id']}/withdraw", headers=other), 404)
    assert client.post(f"/v1/flags/{flag['id']}/withdraw", headers=citizen).json()[
        "state"] == "withdrawn"


def test_contributions(client: TestClient, context: ServiceContext) -> None:
    citizen, caseworker = bearer(context, DEMO_CPR), bearer(context, "cw-1", Role.CASEWORKER)
    made = client.post("/v1/contributions", headers=citizen, json={
        "kind": "document", "title": "Lægeerklæring", "text": "Fra min læge, maj 2026.",
        "about": "urn:egnedata:0751:sagsindeks:case:S000001"})
    assert made.status_code == 201, made.text
    contribution = made.json()
    document = client.post(f"/v1/contributions/{contribution['id']}/documents"
                           "?filename=laege.pdf", content=PDF,
                           headers={**citizen, "Content-Type": "application/pdf"})
    assert document.status_code == 201
    assert [c["id"] for c in client.get("/v1/caseworker/contributions",
                                        headers=caseworker).json()] == [contribution["id"]]
    seen = client.post(f"/v1/caseworker/contributions/{contribution['id']}/seen",
                       headers=caseworker)
    assert seen.json()["seen"] is True
    assert client.get("/v1/caseworker/contributions", headers=caseworker).json() == []
    for body in [{"kind": "poem", "title": "T i t", "text": "tekst"},
                 {"kind": "statement", "title": "x", "text": "tekst"},
                 {"kind": "statement", "title": "Titel", "text": "tekst", "about": "http://x"}]:
        assert_problem(client.post("/v1/contributions", json=body, headers=citizen), 422)
    other = bearer(context, OTHER_CPR)
    assert client.get("/v1/contributions", headers=other).json() == []
    assert_problem(client.get(f"/v1/contributions/{contribution['id']}", headers=other), 404)
    withdrawn = client.post(f"/v1/contributions/{contribution['id']}/withdraw",
                            headers=citizen)
    assert withdrawn.json()["withdrawn_at"] is not None
    assert client.get("/v1/contributions", headers=citizen).json() == []
