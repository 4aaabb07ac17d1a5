"""The delivery API in-process: the registry, consents with signed receipts, pushes
refused without a basis (and audited), representatives under mandates, dead letters
visible to citizen and caseworker, and an S3 target."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from exporter.api.app import create_app
from exporter.api.auth import Role, issue_token
from exporter.cli.package import DEMO_CPR
from exporter.db.models import AuditEvent, ExternalService
from exporter.keys import Keyring
from exporter.profile import Profile
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from formats import age, minisign
from tests.exporter.delivery.conftest import ScriptedReceiver
from tests.servers import free_port

REP = "rep-anna"


@pytest.fixture
def context(tmp_path: Path, keys_dir: Path, demo_profile: Profile) -> Iterator[ServiceContext]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}", blob_url=str(tmp_path / "blobs"),
        keys_dir=keys_dir, lease_seconds=5.0, reconcile_interval_seconds=0.2,
        delivery_retry_base_seconds=0.05, delivery_retry_max_seconds=0.1,
        delivery_max_attempts=2,
    )
    context = ServiceContext.build(settings, profile=demo_profile)
    yield context
    context.close()


@pytest.fixture
def client(context: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(context)) as test_client:
        yield test_client


def auth(context: ServiceContext, subject: str, role: Role = Role.CITIZEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(context.settings, subject, role)}"}


def wait(client: TestClient, url: str, headers: dict[str, str], states: set[str]) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(url, headers=headers).json()
        if body["state"] in states:
            return body
        time.sleep(0.05)
    raise AssertionError(f"still {body['state']}")


@pytest.fixture
def ready(client: TestClient, context: ServiceContext) -> str:
    citizen = auth(context, DEMO_CPR)
    created = client.post("/v1/requests", json={}, headers=citizen)
    wait(client, created.headers["location"], citizen, {"ready"})
    return str(created.json()["id"])


def register(client: TestClient, context: ServiceContext, **target: Any) -> str:
    body = {"name": f"Arkiv {uuid.uuid4().hex[:6]}", "description": "A personal archive",
            "homepage": "https://arkiv.example", "privacy_policy": "https://arkiv.example/p",
            "age_recipient": str(age.X25519Identity.generate().recipient), **target}
    answer = client.post("/v1/admin/services", json=body, headers=auth(context, "a", Role.ADMIN))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def actions(context: ServiceContext) -> list[AuditEvent]:
    with context.sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all())


def test_only_admins_register_and_suspend_services(client: TestClient,
                                                   context: ServiceContext) -> None:
    body = {"name": "X", "description": "x", "homepage": "https://x.example",
            "privacy_policy": "https://x.example/p", "age_recipient": "age1notakey0000",
            "webhook_url": "https://x.example/hook"}
    for role in (Role.CITIZEN, Role.CASEWORKER, Role.REPRESENTATIVE):
        subject = DEMO_CPR if role is Role.CITIZEN else "someone"
        assert client.post("/v1/admin/services", json=body,
                           headers=auth(context, subject, role)).status_code == 403
    bad = client.post("/v1/admin/services", json=body, headers=auth(context, "a", Role.ADMIN))
    assert bad.status_code == 422 and "age_recipient" in bad.json()["detail"]
    service_id = register(client, context, webhook_url="https://x.example/hook")
    admin = auth(context, "a", Role.ADMIN)
    assert client.post(f"/v1/admin/services/{service_id}/suspend",
                       headers=admin).json()["state"] == "suspended"
    listed = client.get("/v1/services", headers=auth(context, DEMO_CPR)).json()
    assert service_id not in {s["id"] for s in listed}


def test_s3_credentials_are_stored_encrypted_and_never_returned(
    client: TestClient, context: ServiceContext,
) -> None:
    service_id = register(client, context, s3_bucket="arkiv-bucket", s3_credentials={
        "access_key_id": "AKIDSECRETVALUE", "secret_access_key": "very-secret-value-123"})
    admin = client.get(f"/v1/admin/services/{service_id}",
                       headers=auth(context, "a", Role.ADMIN)).json()
    assert admin["s3_credentials"] == "stored encrypted"
    assert "very-secret" not in str(admin)
    with context.sessions() as session:
        row = session.get_one(ExternalService, service_id)
        assert row.s3_credentials_age is not None
        assert b"very-secret" not in row.s3_credentials_age
        assert row.s3_credentials_age.startswith(b"age-encryption.org/v1")


def test_push_without_consent_is_refused_and_audited_then_allowed_with_one(
    client: TestClient, context: ServiceContext, ready: str, scripted: ScriptedReceiver,
    service_identity: age.X25519Identity, keys_dir: Path, tmp_path: Path,
) -> None:
    citizen = auth(context, DEMO_CPR)
    service_id = register(client, context, webhook_url=scripted.url,
                          age_recipient=str(service_identity.recipient))
    refused = client.post("/v1/deliveries", json={"request_id": ready, "service_id": service_id},
                          headers=citizen)
    assert refused.status_code == 403 and "no consent" in refused.json()["detail"]
    assert actions(context)[-1].action == "push.refused"
    # a consent for other datasets does not cover a package of all of them
    narrow = client.post("/v1/consents", headers=citizen, json={
        "service_id": service_id, "purpose": "Budget", "datasets": ["udbetalinger"]})
    assert narrow.status_code == 201, narrow.text
    refused = client.post("/v1/deliveries", json={"request_id": ready, "service_id": service_id},
                          headers=citizen)
    assert refused.status_code == 403 and "does not cover" in refused.json()["detail"]
    consent = client.post("/v1/consents", headers=citizen, json={
        "service_id": service_id, "purpose": "Keep an archive of my data",
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()}).json()
    assert consent["status"] == "given" and consent["history"][0]["event"] == "given"
    # the receipt verifies with minisign itself
    receipt = client.get(consent["receipt"], headers=citizen)
    assert receipt.headers["content-type"].startswith("application/ld+json")
    assert receipt.json()["dpv:hasConsentStatus"] == {"@id": "dpv:ConsentGiven"}
    (tmp_path / "receipt.jsonld").write_bytes(receipt.content)
    (tmp_path / "receipt.jsonld.minisig").write_text(
        client.get(consent["receipt_signature"], headers=citizen).text)
    subprocess.run(["minisign", "-Vm", "receipt.jsonld", "-x", "receipt.jsonld.minisig",
                    "-p", str(keys_dir / "signing.pub")], cwd=tmp_path, check=True,
                   capture_output=True)
    pushed = client.post("/v1/deliveries", json={"request_id": ready, "service_id": service_id},
                         headers=citizen)
    assert pushed.status_code == 201, pushed.text
    done = wait(client, f"/v1/deliveries/{pushed.json()['id']}", citizen,
                {"delivered", "dead_letter"})
    assert done["state"] == "delivered" and done["consent_id"] == consent["id"]
    assert done["receipts"][0]["status_code"] == 200 and done["sha256"]
    assert len(scripted.received()) == 1
    revoked = client.post(f"/v1/consents/{consent['id']}/revoke", headers=citizen).json()
    assert revoked["status"] == "revoked" and [e["event"] for e in revoked["history"]] == [
        "given", "revoked"]
    assert minisign.verify(client.get(consent["receipt"], headers=citizen).content,
                           client.get(consent["receipt_signature"], headers=citizen).text,
                           Keyring.load(keys_dir).public_key)
    # someone else sees none of it
    other = auth(context, "720190-1235")
    assert client.get(f"/v1/consents/{consent['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/deliveries/{done['id']}", headers=other).status_code == 404


def test_dead_letters_are_visible_to_citizen_and_caseworker_and_retried(
    client: TestClient, context: ServiceContext, ready: str,
) -> None:
    citizen = auth(context, DEMO_CPR)
    service_id = register(client, context, webhook_url=f"http://127.0.0.1:{free_port()}/")
    client.post("/v1/consents", headers=citizen, json={"service_id": service_id,
                                                       "purpose": "Archive"})
    pushed = client.post("/v1/deliveries", json={"request_id": ready, "service_id": service_id},
                         headers=citizen).json()
    dead = wait(client, f"/v1/deliveries/{pushed['id']}", citizen, {"dead_letter"})
    assert dead["attempts"] == 2 and dead["error"].startswith("unreachable")
    caseworker = auth(context, "cw-1", Role.CASEWORKER)
    listed = client.get("/v1/caseworker/deliveries?state=dead_letter", headers=caseworker)
    assert [d["id"] for d in listed.json()] == [pushed["id"]]
    retried = client.post(f"/v1/caseworker/deliveries/{pushed['id']}/retry",
                          headers=caseworker)
    assert retried.status_code == 200 and retried.json()["state"] in (
        "pending", "sending", "retry_wait", "dead_letter")
    again = wait(client, f"/v1/deliveries/{pushed['id']}", citizen, {"dead_letter"})
    assert again["attempts"] == 4


def test_representatives_act_only_within_their_mandate(
    client: TestClient, context: ServiceContext, ready: str, scripted: ScriptedReceiver,
    service_identity: age.X25519Identity,
) -> None:
    citizen, rep = auth(context, DEMO_CPR), auth(context, REP, Role.REPRESENTATIVE)
    service_id = register(client, context, webhook_url=scripted.url,
                          age_recipient=str(service_identity.recipient))
    push = {"cpr": DEMO_CPR, "request_id": ready, "service_id": service_id}
    refused = client.post("/v1/representative/deliveries", json=push, headers=rep)
    assert refused.status_code == 403 and "no mandate" in refused.json()["detail"]
    last = actions(context)[-1]
    assert (last.action, last.actor, last.actor_role) == ("push.refused", REP, "representative")
    assert last.on_behalf_of == DEMO_CPR.replace("-", "")
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    mandate = client.post("/v1/mandates", headers=citizen, json={
        "representative": REP, "rights": ["request"], "valid_until": until}).json()
    refused = client.post("/v1/representative/deliveries", json=push, headers=rep)
    assert refused.status_code == 403 and "right to push" in refused.json()["detail"]
    created = client.post("/v1/representative/requests", json={"cpr": DEMO_CPR}, headers=rep)
    assert created.status_code == 201 and created.json()["requested_by_role"] == "representative"
    client.post(f"/v1/mandates/{mandate['id']}/revoke", headers=citizen)
    assert client.post("/v1/representative/requests", json={"cpr": DEMO_CPR},
                       headers=rep).status_code == 403
    client.post("/v1/mandates", headers=citizen, json={
        "representative": REP, "rights": ["push"], "valid_until": until,
        "services": [service_id]})
    pushed = client.post("/v1/representative/deliveries", json=push, headers=rep)
    assert pushed.status_code == 201, pushed.text
    url = f"/v1/representative/deliveries/{pushed.json()['id']}?cpr={DEMO_CPR}"
    assert wait(client, url, rep, {"delivered", "dead_letter"})["state"] == "delivered"
    created_event = next(e for e in actions(context) if e.action == "delivery.created")
    assert (created_event.actor, created_event.on_behalf_of) == (
        REP, DEMO_CPR.replace("-", ""))
    # the citizen sees the push made for them
    mine = client.get("/v1/deliveries", headers=citizen).json()
    assert mine[0]["requested_by_role"] == "representative"


def test_push_to_an_s3_bucket_with_a_signed_receipt(
    client: TestClient, context: ServiceContext, ready: str, s3_endpoint: str,
    service_identity: age.X25519Identity, keyring: Keyring,
) -> None:
    bucket = f"arkiv-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    citizen = auth(context, DEMO_CPR)
    service_id = register(client, context, s3_bucket=bucket, s3_prefix="inbox",
                          s3_endpoint_url=s3_endpoint, s3_region="us-east-1",
                          age_recipient=str(service_identity.recipient),
                          s3_credentials={"access_key_id": "testing",
                                          "secret_access_key": "testing"})
    client.post("/v1/consents", headers=citizen, json={"service_id": service_id,
                                                       "purpose": "Archive",
                                                       "single_use": True})
    pushed = client.post("/v1/deliveries", json={"request_id": ready, "service_id": service_id},
                         headers=citizen).json()
    done = wait(client, f"/v1/deliveries/{pushed['id']}", citizen, {"delivered", "dead_letter"})
    assert done["state"] == "delivered", done
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    name = f"inbox/{pushed['id']}.zip.age"
    body = s3.get_object(Bucket=bucket, Key=name)["Body"].read()
    receipt = s3.get_object(Bucket=bucket, Key=f"{name}.receipt.json")["Body"].read()
    signature = s3.get_object(Bucket=bucket, Key=f"{name}.receipt.json.minisig")["Body"].read()
    minisign.verify(receipt, signature.decode(), keyring.public_key)
    import hashlib
    import io
    import json

    assert json.loads(receipt)["sha256"] == hashlib.sha256(body).hexdigest() == done["sha256"]
    plain = io.BytesIO()
    age.decrypt(io.BytesIO(body), plain, [service_identity])
    assert plain.getvalue()[:2] == b"PK"
    # the single-use consent is spent
    again = client.post("/v1/deliveries", headers=citizen, json={
        "request_id": ready, "service_id": service_id})
    assert again.status_code == 200  # the same package and service: the same delivery
    consents = client.get("/v1/consents", headers=citizen).json()
    assert consents[0]["status"] == "used"
