"""The whole service over HTTP with real processes: `egnedata serve`, two `egnedata
worker` processes, PostgreSQL, a private Redis and an S3 endpoint (moto's server).

Workers are killed with SIGKILL mid-collect and Redis is flushed mid-request; every
request must still end exactly once, and Redis must never hold personal data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis

from exporter.cli.package import DEMO_CPR
from exporter.profile import demo_profile_path
from exporter.settings import Settings
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

CPR_DIGITS = DEMO_CPR.replace("-", "")
EGNEDATA = [sys.executable, "-m", "exporter"]


def _slow_profile(path: Path) -> Path:
    """The demo profile with a case index that answers slowly, page by page."""
    text = demo_profile_path().read_text(encoding="utf-8")
    text = text.replace("cases = 12\ndocuments_per_case = 3",
                        'cases = 12\ndocuments_per_case = 3\npage_size = 4\nfail_with = "slow"', 1)
    assert 'fail_with = "slow"' in text
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Service:
    env: dict[str, str]
    base: str
    redis: redis.Redis
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen([*EGNEDATA, *args], env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def token(self, subject: str, role: str = "citizen") -> dict[str, str]:
        out = subprocess.run([*EGNEDATA, "token", "--subject", subject, "--role", role],
                             env=self.env, capture_output=True, text=True, check=True)
        return {"Authorization": f"Bearer {out.stdout.strip()}"}


@pytest.fixture
def service(
    tmp_path: Path, postgres_schema_url: str, redis_url: str, s3_endpoint: str, keys_dir: Path
) -> Iterator[Service]:
    bucket = f"egnedata-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    port = free_port()
    env = {
        **os.environ,
        "EGNEDATA_DATABASE_URL": postgres_schema_url,
        "EGNEDATA_REDIS_URL": redis_url,
        "EGNEDATA_BLOB_URL": f"s3://{bucket}/egnedata?endpoint_url={s3_endpoint}",
        "EGNEDATA_KEYS_DIR": str(keys_dir),
        "EGNEDATA_PROFILE": str(_slow_profile(tmp_path / "profile.toml")),
        "EGNEDATA_LEASE_SECONDS": "3",
        "EGNEDATA_RECONCILE_INTERVAL_SECONDS": "1",
        "EGNEDATA_QUEUE_NAME": f"q-{uuid.uuid4().hex[:8]}",
    }
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    svc = Service(env, f"http://127.0.0.1:{port}", client, tmp_path)
    svc.start("server", "serve", "--port", str(port), "--log-level", "warning")
    try:
        wait_for_port(port, timeout=60)
        yield svc
    finally:
        svc.stop_all()
        for log in sorted(tmp_path.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")


def _wait(client: httpx.Client, url: str, headers: dict[str, str], done: set[str],
          timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(url, headers=headers).json()
        if body["state"] in done:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"request still {body['state']}: {body['sources']}")
        time.sleep(0.1)


def _scan_redis(service: Service) -> None:
    """No key or value in Redis carries the CPR number."""
    for key in service.redis.scan_iter(count=1000):
        assert CPR_DIGITS.encode() not in key and CPR_DIGITS[:6].encode() not in key
        kind = service.redis.type(key)
        values: list[bytes] = []
        if kind == b"string":
            values = [service.redis.get(key) or b""]
        elif kind == b"hash":
            values = [v for pair in service.redis.hgetall(key).items() for v in pair]
        elif kind == b"list":
            values = service.redis.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(service.redis.smembers(key))
        elif kind == b"zset":
            values = [m for m, _ in service.redis.zrange(key, 0, -1, withscores=True)]
        for value in values:
            assert CPR_DIGITS.encode() not in value, f"CPR number in Redis key {key!r}"


def test_end_to_end_with_two_workers_a_kill_and_a_flush(service: Service, tmp_path: Path,
                                                       keys_dir: Path) -> None:
    citizen = service.token(DEMO_CPR)
    with httpx.Client(base_url=service.base, timeout=30) as client:
        # 1. Redis is flushed while a request waits for a worker: nothing is lost.
        created = client.post("/v1/requests", json={}, headers=citizen)
        assert created.status_code == 201, created.text
        first = created.json()["id"]
        _scan_redis(service)
        service.redis.flushdb()
        service.start("worker-a", "worker", "--log-level", "warning")
        service.start("worker-b", "worker", "--log-level", "warning")

        # 2. A worker is killed in the middle of a collect.
        second = client.post("/v1/requests", json={}, headers=citizen).json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = client.get(f"/v1/requests/{second}", headers=citizen).json()
            running = {s["source_id"]: s for s in body["sources"] if s["state"] == "running"}
            if "sagsindeks" in running:
                break
            _scan_redis(service)
            time.sleep(0.05)
        else:
            raise AssertionError("the slow source never started")
        time.sleep(0.5)
        service.kill("worker-a")
        service.kill("worker-b")  # whichever held it, it is gone now
        service.start("worker-c", "worker", "--log-level", "warning")
        service.start("worker-d", "worker", "--log-level", "warning")

        counts = []
        for request_id in (first, second):
            body = _wait(client, f"/v1/requests/{request_id}", citizen,
                         {"ready", "ready_with_gaps", "failed"})
            assert body["state"] == "ready", body
            _scan_redis(service)
            counts.append({s["source_id"]: s["records_accepted"] for s in body["sources"]})
        # Exactly once: the killed source ran again but its records are not doubled.
        assert counts[0] == counts[1] and counts[1]["sagsindeks"] == 12 + 36 + 8
        killed = next(s for s in body["sources"] if s["source_id"] == "sagsindeks")
        # Killed once; on a loaded machine a slow heartbeat may let a third attempt take
        # over, which is allowed: what must hold is that the outcome is recorded once.
        assert killed["attempts"] >= 2

        response = client.get(body["package"]["download"], headers=citizen)
        assert response.status_code == 200
        path = tmp_path / "package.zip"
        path.write_bytes(response.content)
        verified = subprocess.run(
            [*EGNEDATA, "verify", str(path), "--pubkey", str(keys_dir / "signing.pub")],
            capture_output=True, text=True,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr

    # The audit log is intact and shows one ready per request.
    check = subprocess.run([*EGNEDATA, "audit", "verify"], env=service.env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    from sqlalchemy import create_engine, text

    engine = create_engine(Settings(database_url=service.env["EGNEDATA_DATABASE_URL"])
                           .effective_database_url.replace("postgresql://",
                                                           "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        readies = connection.execute(text(
            "SELECT request_id, count(*) FROM audit_events WHERE action = 'request.ready' "
            "GROUP BY request_id")).all()
        packages = connection.execute(text("SELECT count(*) FROM packages")).scalar_one()
    engine.dispose()
    assert sorted(n for _, n in readies) == [1, 1] and packages == 2


def test_embedded_serve_needs_nothing_else(tmp_path: Path) -> None:
    """`egnedata serve` with no settings: SQLite, a local blob folder, in-process jobs,
    development keys made on first start."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGNEDATA_")}
    env["EGNEDATA_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*EGNEDATA, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60)
        token = subprocess.run([*EGNEDATA, "token", "--subject", DEMO_CPR], env=env,
                               cwd=tmp_path, capture_output=True, text=True, check=True)
        headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            created = client.post("/v1/requests", json={}, headers=headers)
            assert created.status_code == 201, created.text
            body = _wait(client, created.headers["location"], headers,
                         {"ready", "ready_with_gaps", "failed"})
            assert body["state"] == "ready"
            package = client.get(body["package"]["download"], headers=headers)
            assert package.status_code == 200 and package.content[:2] == b"PK"
            assert client.get("/readyz").json()["checks"] == {
                "database": "ok", "queue": "ok", "keys": "ok"}
        assert (tmp_path / "data" / "egnedata.db").exists()
        assert (tmp_path / "data" / "keys" / "signing.key").exists()
        stored = list((tmp_path / "data" / "blobs").rglob("*.age"))
        assert stored and all(p.read_bytes()[:21] == b"age-encryption.org/v1" for p in stored)
    finally:
        server.terminate()
        server.wait(timeout=20)
