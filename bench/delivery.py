"""Benchmark: pushing packages to a service's webhook with real processes.

Starts a private Redis, uses PostgreSQL (a fresh database), two `egnedata worker`
processes and `egnedata receive` (the reference receiver: it checks every signature,
digest and timestamp and de-duplicates by webhook id; with `--receiver-checks full`
it also decrypts and verifies each package, which on a small machine makes the
receiver, not the sender, the bottleneck). The
packages are prepared, not collected: one demo package is built with the demo
connector's `cases` setting until it is about 1 MB, encrypted to the vault key, and
placed in the blob store under N requests marked ready. A consent and a delivery are
then created for each request in one burst, and the workers push them. Prints:

- deliveries/s, from the first delivery queued until the last delivered;
- the median and p95 time from "ready" (the delivery created and queued, its package
  ready) to "delivered" (the receiver answered 200 and the outcome was recorded).
  The deliveries are created first and then queued in one burst, so the median
  includes waiting behind the others (about half the run);
- that none were lost or sent twice.

    python bench/delivery.py                   # 200 packages of ~1 MB, 2 workers
    python bench/delivery.py --receiver-checks full   # the receiver also decrypts and
                                                      # verifies each package

Needs redis-server and PostgreSQL (EGNEDATA_TEST_POSTGRES, default
postgresql://postgres:postgres@127.0.0.1:5432/postgres), as the test suite does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from _stack import CPRS, free_port, service_stack, wait_for_port  # puts the project on sys.path

from exporter.cli.package import run_export
from exporter.cpr import Cpr
from exporter.db.models import Package, Request
from exporter.delivery.consents import ConsentSpec, give_consent
from exporter.delivery.deliveries import create_delivery, enqueue_delivery
from exporter.delivery.registry import ServiceSpec, register_service
from exporter.keys import Keyring, generate_keys
from exporter.profile import demo_profile_path, load_profile
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.settings import Settings
from formats import age


class _Held:
    """A queue that holds jobs back (they are queued for real in one burst)."""

    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        pass

    def pending(self, job_id: str) -> bool:
        return True

    def ping(self) -> bool:
        return True


def _package(work: Path, keyring: Keyring, target: int) -> tuple[bytes, int, str]:
    """A demo package of about ``target`` bytes, encrypted to the vault key."""
    profile = load_profile(demo_profile_path())
    cases = 200
    while True:
        sources = tuple(s.model_copy(update={"settings": {**s.settings, "cases": cases}})
                        for s in profile.sources)
        out = work / f"package-{cases}"
        _, encrypted, plain = run_export(
            profile.model_copy(update={"sources": sources}), Cpr.parse(CPRS[0]), out, keyring,
            plaintext=True, show_progress=False)
        assert plain is not None
        size = plain.stat().st_size
        if size >= target * 0.95 or cases > 100_000:
            return encrypted.read_bytes(), size, f"demo connector, cases={cases}"
        cases = int(cases * target / size * 1.02) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--size", type=int, default=1_000_000, help="package size in bytes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--receiver-checks", choices=["full", "signature"], default="signature",
                        help="signature: headers, digest, signature, replays (the protocol); "
                             "full: also decrypt and verify every package")
    args = parser.parse_args()

    with service_stack("egnedata-bench-delivery-") as stack, contextlib.ExitStack() as closing:
        work, db_url = stack.work, stack.db_url
        receiver_port = free_port()
        keys = work / "keys"
        generate_keys(keys)
        keyring = Keyring.load(keys)
        settings = Settings(database_url=db_url.replace("postgresql://", "postgresql+psycopg://"),
                            redis_url=stack.redis_url, blob_url=str(work / "blobs"),
                            keys_dir=keys)
        context = ServiceContext.build(settings)
        closing.callback(context.close)
        encrypted, plain_size, how = _package(work, keyring, args.size)

        identity = age.X25519Identity.generate()
        (work / "service.key").write_text(f"{identity}\n")
        receive = ["receive", "-i", str(work / "service.key"), "--pubkey",
                   str(keys / "signing.pub"), "--out", str(work / "received"),
                   "--port", str(receiver_port)]
        if args.receiver_checks == "signature":
            receive.append("--no-decrypt")
        stack.start(*receive)
        wait_for_port(receiver_port, timeout=60)
        service = register_service(context, Actor("bench", "admin"), ServiceSpec(
            name="Bench archive", description="bench", homepage="https://bench.example",
            privacy_policy="https://bench.example/p", age_recipient=str(identity.recipient),
            webhook_url=f"http://127.0.0.1:{receiver_port}/"))

        # Prepared packages: N ready requests, each with its own copy of the package blob.
        now = datetime.now(UTC)
        requests: list[tuple[str, str]] = []
        with context.sessions.begin() as session:
            for i in range(args.packages):
                cpr = Cpr.parse(CPRS[i % len(CPRS)]).digits
                request_id = str(uuid.uuid4())
                key = f"packages/{request_id}/1.zip.age"
                with context.blobs.open_writer(key) as out:
                    out.write(encrypted)
                session.add(Request(
                    id=request_id, subject_cpr=cpr, requested_by=cpr, requester_role="citizen",
                    received_at=now, deadline=now.date() + timedelta(days=30), state="ready",
                    state_changed_at=now, generation=1, assemble_attempt=1))
                session.flush()
                session.add(Package(
                    id=str(uuid.uuid4()), request_id=request_id, blob_key=key,
                    size=len(encrypted), sha256="0" * 64, plain_size=plain_size,
                    vault_recipient=str(keyring.current_recipient),
                    signing_key_id=keyring.public_key.key_id, complete=True, created_at=now,
                    expires_at=now + timedelta(days=30)))
                requests.append((request_id, cpr))
        for _, cpr in requests:
            give_consent(context, Actor(cpr, "citizen"), cpr, ConsentSpec(
                service_id=service.id, purpose="bench"))

        for _ in range(args.workers):
            stack.start("worker", "--log-level", "warning")
        time.sleep(3)  # let the workers connect

        # Create the deliveries first (each a database transaction, as the API makes
        # them), then queue them all at once: N packages become ready to push together.
        real_queue, context.queue = context.queue, _Held()
        created = time.perf_counter()
        deliveries = [create_delivery(context, Actor(cpr, "citizen"), cpr, request_id,
                                      service.id)[0] for request_id, cpr in requests]
        created_seconds = time.perf_counter() - created
        context.queue = real_queue
        first = time.perf_counter()
        ready_at: dict[str, datetime] = {}
        for delivery in deliveries:
            ready_at[delivery.id] = datetime.now(UTC)
            enqueue_delivery(context, delivery)
        with psycopg.connect(db_url, autocommit=True) as conn:
            while True:
                (open_,) = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE state IN "
                    "('pending', 'sending', 'retry_wait')").fetchone() or (0,)
                if open_ == 0:
                    break
                if time.perf_counter() - first > 1800:
                    raise RuntimeError(f"{open_} deliveries still open after 30 minutes")
                time.sleep(0.05)
            states = dict(conn.execute(
                "SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
            rows = [(ready_at[i], done, attempt) for i, done, attempt in conn.execute(
                "SELECT id, finished_at, attempt FROM deliveries "
                "WHERE state = 'delivered'").fetchall()]
        received = len(list((work / "received").glob("*.zip.age")))

    n = args.packages
    latencies = sorted((done - created).total_seconds() for created, done, _ in rows)
    span = (max(done for _, done, _ in rows) - min(created for created, _, _ in rows))
    print(f"{n} deliveries of a {plain_size / 1e6:.2f} MB package ({len(encrypted):,} bytes "
          f"encrypted; {how}; prepared and placed in the blob store), {args.workers} workers, "
          f"webhook to `egnedata receive` ({args.receiver_checks} checks) on loopback, "
          f"PostgreSQL + Redis (machine: {os.cpu_count()} cores)")
    print(f"created:     {n} deliveries (consent checked, audited) in {created_seconds:.2f} s, "
          f"then queued at once")
    print(f"throughput:  {n / span.total_seconds():8.1f} deliveries/s   "
          f"(all {n} delivered {span.total_seconds():.1f} s after the first was queued)")
    print(f"ready -> delivered: median {statistics.median(latencies) * 1000:7.1f} ms   "
          f"p95 {latencies[int(0.95 * (len(latencies) - 1))] * 1000:7.1f} ms")
    print(f"states: {states}; packages kept by the receiver: {received}; "
          f"most attempts: {max(a for _, _, a in rows)}")
    print("goal: >= 20 deliveries/s; none lost or sent twice")


if __name__ == "__main__":
    main()
