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
import asyncio
import os
import statistics
import time

import orjson
import psycopg
from _stack import (  # puts the project on sys.path
    CPRS,
    free_port,
    percentile,
    service_stack,
    wait_for_port,
)


async def _submit_all(host: str, port: int, authorization: str,
                      bodies: list[tuple[str, str]], clients: int,
                      ) -> tuple[list[float], list[str]]:
    """POST every request over ``clients`` keep-alive connections, each waiting for its
    answer before sending the next (as a person at a form would). The requests are
    written by hand on purpose: the client shares the machine's two cores with the
    service, and a full HTTP client library costs more CPU per request than it measures.
    """
    latencies: list[float] = []
    ids: list[str] = []
    todo = iter(bodies)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for key, cpr in todo:
                body = orjson.dumps({"cpr": cpr})
                started = time.perf_counter()
                writer.write(
                    f"POST /v1/caseworker/requests HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: {authorization}\r\nIdempotency-Key: {key}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"\r\n".encode() + body)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if status != 201:
                    raise RuntimeError(f"{status}: {answer[:200]!r}")
                ids.append(orjson.loads(answer)["id"])
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, ids


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
        time.sleep(2)  # let the workers connect

        bodies = [(f"bench-{i}", CPRS[i % len(CPRS)]) for i in range(args.requests)]
        first = time.perf_counter()
        latencies, ids = asyncio.run(_submit_all(
            "127.0.0.1", api_port, f"Bearer {caseworker}", bodies, args.clients))
        intake_seconds = time.perf_counter() - first
        if len(set(ids)) != len(ids):
            raise RuntimeError("the service returned one id for two requests")

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
          f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms")
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
