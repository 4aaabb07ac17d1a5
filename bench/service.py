"""Benchmark: the service under load, over HTTP, with real processes.

Starts a private Redis, uses PostgreSQL (a fresh database), `egnedata serve` and two
`egnedata worker` processes, then submits N requests for the demo profile over HTTP
from a pool of concurrent clients. Prints:

- intake: requests/s while submitting, and p50/p99 latency of the POSTs;
- completion: packages/s from the first submission until the last package is ready;
- that none were lost or duplicated: every request ready, one package each, one
  "ready" event each in the audit log.

    python bench/service.py                 # 1,000 requests, 16 concurrent clients
    python bench/service.py --requests 200 --clients 8

Needs redis-server and PostgreSQL (EGNEDATA_TEST_POSTGRES, default
postgresql://postgres:postgres@127.0.0.1:5432/postgres), as the test suite does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
from _stack import CPRS, free_port, service_stack, wait_for_port  # puts the project on sys.path


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--servers", type=int, default=2, help="egnedata serve processes")
    parser.add_argument("--worker-nice", type=int, default=10,
                        help="worker CPU priority (egnedata worker --nice): intake first")
    args = parser.parse_args()

    with service_stack("egnedata-bench-service-") as stack:
        api_port = free_port()
        db_url = stack.db_url
        stack.env["EGNEDATA_MAX_ATTEMPTS"] = "5"
        stack.run("keys", "generate", "--dir", stack.env["EGNEDATA_KEYS_DIR"])
        stack.run("db", "upgrade")
        stack.start("serve", "--port", str(api_port), "--log-level", "warning",
                    "--workers", str(args.servers))
        wait_for_port(api_port, timeout=60)
        for _ in range(args.workers):
            stack.start("worker", "--log-level", "warning", "--nice", str(args.worker_nice))
        caseworker = stack.run(
            "token", "--subject", "bench", "--role", "caseworker", "--ttl", "86400").strip()
        headers = {"Authorization": f"Bearer {caseworker}"}
        base = f"http://127.0.0.1:{api_port}"
        time.sleep(2)  # let the workers connect

        latencies: list[float] = []
        ids: list[str] = []
        lock = threading.Lock()
        local = threading.local()

        def submit(i: int) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base, timeout=30)
            started = time.perf_counter()
            response = client.post("/v1/caseworker/requests", headers={
                **headers, "Idempotency-Key": f"bench-{i}"}, json={"cpr": CPRS[i % len(CPRS)]})
            elapsed = time.perf_counter() - started
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            with lock:
                latencies.append(elapsed)
                ids.append(response.json()["id"])

        first = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(submit, range(args.requests)))
        intake_seconds = time.perf_counter() - first

        # Wait until every request has ended, watching the database.
        with psycopg.connect(db_url, autocommit=True) as conn:
            while args.workers:  # --workers 0 measures intake alone
                (active,) = conn.execute(
                    "SELECT count(*) FROM requests WHERE state IN "
                    "('received', 'collecting', 'assembling')").fetchone() or (0,)
                if active == 0:
                    break
                if time.perf_counter() - first > 1800:
                    raise RuntimeError(f"{active} requests still active after 30 minutes")
                time.sleep(0.2)
            done_seconds = time.perf_counter() - first
            states = dict(conn.execute(
                "SELECT state, count(*) FROM requests GROUP BY state").fetchall())
            (packages,) = conn.execute("SELECT count(*) FROM packages").fetchone() or (0,)
            readies = conn.execute(
                "SELECT count(*) FROM audit_events WHERE action = 'request.ready' "
                "GROUP BY request_id HAVING count(*) <> 1").fetchall()
            attempts = conn.execute(
                "SELECT max(attempt) FROM source_tasks").fetchone()

    n = args.requests
    print(f"{n:,} requests over HTTP, {args.clients} concurrent clients, "
          f"{args.servers} server processes, {args.workers} workers at nice "
          f"{args.worker_nice}, demo profile (machine: {os.cpu_count()} cores)")
    print(f"intake:      {n / intake_seconds:8.1f} requests/s   "
          f"p50 {statistics.median(latencies) * 1000:6.1f} ms   "
          f"p99 {_percentile(latencies, 0.99) * 1000:6.1f} ms")
    print(f"completion:  {n / done_seconds:8.1f} packages/s   "
          f"(all {n:,} ended {done_seconds:.1f} s after the first request)")
    lost = n - states.get("ready", 0)
    print(f"states: {states}; packages: {packages}; requests with other than one 'ready' "
          f"event: {len(readies)}; most attempts at a source: {attempts[0] if attempts else 0}")
    print(f"lost: {lost}; duplicated: {packages - states.get('ready', 0) + len(readies)}")
    print("goals: intake >= 300 requests/s with p99 < 100 ms; >= 20 packages/s; none lost "
          "or duplicated")


if __name__ == "__main__":
    main()
