"""The HTTP API in-process: requests, downloads, who may see what, and bad input."""

from __future__ import annotations

import gc
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from exporter.api.app import create_app
from exporter.api.auth import Role, issue_token
from exporter.cli.package import DEMO_CPR
from exporter.keys import Keyring
from exporter.profile import Profile
from exporter.service.context import ServiceContext
from exporter.service.queue import JobSpec
from exporter.settings import Settings
from formats import age
from formats.verify import verify_package

OTHER_CPR = "720190-1235"  # another synthetic number


@pytest.fixture
def context(tmp_path: Path, keys_dir: Path, demo_profile: Profile) -> Iterator[ServiceContext]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        blob_url=str(tmp_path / "blobs"),
        keys_dir=keys_dir,
        lease_seconds=5.0,
        max_body_bytes=4096,
    )
    context = ServiceContext.build(settings, profile=demo_profile)
    yield context
    context.close()


@pytest.fixture
def client(context: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(context, run_background=False)) as test_client:
        yield test_client


def bearer(context: ServiceContext, subject: str, role: Role = Role.CITIZEN,
           **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(context.settings, subject, role, **kw)}"}


def wait_ready(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url, headers=headers).json()
        if body["state"] in ("ready", "ready_with_gaps", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"still {body['state']}")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.fixture
def ready_request(client: TestClient, context: ServiceContext) -> dict[str, Any]:
    headers = bearer(context, DEMO_CPR)
    created = client.post("/v1/requests", json={}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/requests/{created.json()['id']}"
    return wait_ready(client, created.headers["location"], headers)


def test_citizen_requests_and_downloads_a_verified_package(
    client: TestClient, context: ServiceContext, ready_request: dict[str, Any],
    keyring: Keyring, tmp_path: Path,
) -> None:
    headers = bearer(context, DEMO_CPR)
    body = ready_request
    assert body["state"] == "ready" and body["subject"] == "710190-xxxx"
    assert {s["source_id"]: s["state"] for s in body["sources"]} == {
        "cpr": "done", "sagsindeks": "done", "ydelsesindeks": "done", "egnedata": "done"}
    package = body["package"]
    response = client.get(package["download"], headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["accept-ranges"] == "bytes"
    data = response.content
    assert len(data) == package["size"]
    path = tmp_path / "p.zip"
    path.write_bytes(data)
    report = verify_package(path, keyring.public_key)
    assert report.ok and report.proves_provenance
    assert "index.html" in zipfile.ZipFile(io.BytesIO(data)).namelist()

    part = client.get(package["download"], headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(package["download"], headers={**headers, "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    beyond = client.get(package["download"], headers={**headers, "Range": f"bytes={len(data)}-"})
    assert_problem(beyond, 416)
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"

    wrapped = client.post(package["download_age"], json={"passphrase": "korrekt hest batteri"},
                          headers=headers)
    assert wrapped.status_code == 200
    assert int(wrapped.headers["content-length"]) == len(wrapped.content)
    out = io.BytesIO()
    age.decrypt(io.BytesIO(wrapped.content), out, [age.ScryptIdentity("korrekt hest batteri")])
    assert out.getvalue() == data
    assert_problem(client.post(package["download_age"], json={"passphrase": "short"},
                               headers=headers), 422)


def test_another_citizen_sees_nothing(
    client: TestClient, context: ServiceContext, ready_request: dict[str, Any]
) -> None:
    other = bearer(context, OTHER_CPR)
    base = f"/v1/requests/{ready_request['id']}"
    assert client.get("/v1/requests", headers=other).json() == []
    for method, url, body in [
        ("GET", base, None),
        ("POST", f"{base}/cancel", None),
        ("GET", f"{base}/package", None),
        ("POST", f"{base}/package.age", {"passphrase": "korrekt hest batteri"}),
    ]:
        assert_problem(client.request(method, url, json=body, headers=other), 404)
    # ...and the owner still has everything.
    owner = bearer(context, DEMO_CPR)
    assert client.get(base, headers=owner).json()["state"] == "ready"


def test_roles_are_kept_apart(client: TestClient, context: ServiceContext) -> None:
    citizen = bearer(context, DEMO_CPR)
    caseworker = bearer(context, "cw-1", Role.CASEWORKER)
    assert_problem(client.get("/v1/caseworker/requests", headers=citizen), 403)
    assert_problem(client.post("/v1/caseworker/requests", json={"cpr": DEMO_CPR},
                               headers=citizen), 403)
    assert_problem(client.get("/v1/requests", headers=caseworker), 403)
    assert_problem(client.post("/v1/requests", json={}, headers=caseworker), 403)


@pytest.mark.parametrize("kind", ["none", "expired", "forged", "unsigned", "garbage",
                                  "wrong-issuer", "bad-role", "basic"])
def test_bad_tokens_are_refused(client: TestClient, context: ServiceContext, kind: str) -> None:
    settings = context.settings
    now = int(time.time())
    claims = {"sub": "7101901234", "role": "citizen", "iss": settings.token_issuer,
              "iat": now, "exp": now + 600}
    secret = settings.token_secret.get_secret_value()
    token = {
        "none": None,
        "expired": issue_token(settings, DEMO_CPR, Role.CITIZEN, ttl=-10),
        "forged": jwt.encode(claims, "another-secret-that-is-long-enough!!", algorithm="HS256"),
        "unsigned": jwt.encode(claims, None, algorithm="none"),
        "garbage": "not.a.token",
        "wrong-issuer": jwt.encode({**claims, "iss": "elsewhere"}, secret, algorithm="HS256"),
        "bad-role": jwt.encode({**claims, "role": "superuser"}, secret, algorithm="HS256"),
        "basic": None,
    }[kind]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if kind == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    response = client.get("/v1/requests", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("body", "field"), [
    ({"datasets": "person"}, "datasets"),
    ({"datasets": [1, 2]}, "datasets.0"),
    ({"datasets": ["Person; DROP TABLE"]}, "datasets.0"),
    ({"period": {"from": "i går"}}, "period.from"),
    ({"unexpected": True}, "unexpected"),
    ([], "(body)"),
])
def test_malformed_bodies_get_a_problem(
    client: TestClient, context: ServiceContext, body: Any, field: str
) -> None:
    response = client.post("/v1/requests", json=body, headers=bearer(context, DEMO_CPR))
    problem = assert_problem(response, 422)
    assert field in [e["field"] for e in problem["errors"]]


def test_unparseable_json_and_unknown_datasets(client: TestClient,
                                               context: ServiceContext) -> None:
    headers = {**bearer(context, DEMO_CPR), "Content-Type": "application/json"}
    assert_problem(client.post("/v1/requests", content=b"{not json", headers=headers), 422)
    problem = assert_problem(client.post("/v1/requests", json={"datasets": ["nope"]},
                                         headers=headers), 422)
    assert "unknown dataset nope" in problem["detail"]


@pytest.mark.parametrize("cpr", ["12345", "abcdefghij", "3113901234", "010100-12345",
                                 "01.01.00-1234", "", "🙂" * 5])
def test_bad_cpr_numbers_get_a_problem_that_does_not_echo_them(
    client: TestClient, context: ServiceContext, cpr: str
) -> None:
    response = client.post("/v1/caseworker/requests", json={"cpr": cpr},
                           headers=bearer(context, "cw-1", Role.CASEWORKER))
    problem = assert_problem(response, 422)
    if len(cpr) >= 5:
        assert cpr.strip() not in response.text
    assert problem["detail"]


def test_bodies_over_the_limit_are_refused(client: TestClient, context: ServiceContext) -> None:
    headers = bearer(context, DEMO_CPR)
    huge = {"datasets": ["person"] * 2000}
    assert_problem(client.post("/v1/requests", json=huge, headers=headers), 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"datasets": ['
        for _ in range(1000):
            yield b'"person",'
        yield b'"person"]}'

    streamed = client.post("/v1/requests", content=chunks(),
                           headers={**headers, "Content-Type": "application/json"})
    assert_problem(streamed, 413)


def test_idempotency_key_over_http(client: TestClient, context: ServiceContext) -> None:
    headers = {**bearer(context, DEMO_CPR), "Idempotency-Key": "abc-123"}
    first = client.post("/v1/requests", json={"datasets": ["person"]}, headers=headers)
    again = client.post("/v1/requests", json={"datasets": ["person"]}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert_problem(client.post("/v1/requests", json={}, headers=headers), 409)
    bad = {**bearer(context, DEMO_CPR), "Idempotency-Key": "with space"}
    assert_problem(client.post("/v1/requests", json={}, headers=bad), 422)


def test_caseworker_flow(client: TestClient, context: ServiceContext) -> None:
    caseworker = bearer(context, "cw-1", Role.CASEWORKER)
    created = client.post("/v1/caseworker/requests",
                          json={"cpr": OTHER_CPR, "datasets": ["person"]}, headers=caseworker)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    wait_ready(client, f"/v1/caseworker/requests/{request_id}", caseworker)
    # The citizen sees the request made on their behalf.
    mine = client.get("/v1/requests", headers=bearer(context, OTHER_CPR)).json()
    assert [r["id"] for r in mine] == [request_id]
    assert mine[0]["requested_by_role"] == "caseworker"

    listed = client.get("/v1/caseworker/requests", params={"state": "ready"},
                        headers=caseworker).json()
    assert request_id in [r["id"] for r in listed]
    assert_problem(client.get("/v1/caseworker/requests", params={"state": "nonsense"},
                              headers=caseworker), 422)
    assert_problem(client.post(f"/v1/caseworker/requests/{request_id}/extend",
                               json={"months": 1, "reason": "For sent at forlænge nu"},
                               headers=caseworker), 409)
    assert_problem(client.post(f"/v1/caseworker/requests/{request_id}/sources/cpr/retry",
                               headers=caseworker), 409)
    assert_problem(client.post(f"/v1/caseworker/requests/{request_id}/sources/nope/retry",
                               headers=caseworker), 404)
    assert_problem(client.get("/v1/caseworker/requests/not-an-id", headers=caseworker), 404)


def test_deadline_list_puts_the_most_urgent_first(client: TestClient,
                                                  context: ServiceContext) -> None:
    context.queue = _Parked()  # keep the requests active
    caseworker = bearer(context, "cw-1", Role.CASEWORKER)
    ids = [client.post("/v1/caseworker/requests", json={"cpr": DEMO_CPR},
                       headers=caseworker).json()["id"] for _ in range(3)]
    extended = client.post(f"/v1/caseworker/requests/{ids[0]}/extend",
                           json={"months": 2, "reason": "Omfattende materiale"},
                           headers=caseworker)
    assert extended.status_code == 200 and extended.json()["extended_deadline"]
    listed = [r["id"] for r in client.get("/v1/caseworker/requests", headers=caseworker).json()]
    assert listed.index(ids[0]) > max(listed.index(ids[1]), listed.index(ids[2]))


class _Parked:
    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        pass

    def enqueue_many(self, jobs: list[JobSpec]) -> None:
        pass

    def pending(self, job_id: str) -> bool:
        return True

    def pending_many(self, job_ids: list[str]) -> set[str]:
        return set(job_ids)

    def ping(self) -> bool:
        return True


def test_health_readiness_and_metrics(client: TestClient, context: ServiceContext) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["keys"] == "ok"
    client.post("/v1/requests", json={"datasets": ["person"]}, headers=bearer(context, DEMO_CPR))
    metrics = client.get("/metrics").text
    assert "egnedata_requests_created_total" in metrics
    assert "egnedata_http_request_seconds_bucket" in metrics
    assert "7101901234" not in metrics


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.put("/healthz"), 405)


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    assert "/v1/requests/{request_id}/package" in spec["paths"]


def test_a_server_freezes_what_it_made_while_starting(context: ServiceContext) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(context, run_background=False)):
            assert gc.get_freeze_count() == 0  # an app inside something else: not its call
        with TestClient(create_app(context, run_background=False, server=True)):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # the rest of the test session collects as before
