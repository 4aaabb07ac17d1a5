"""Benchmark: the console's work queue, its first page with 100 and with 100,000 open
items, in one run.

Starts PostgreSQL (a fresh database), the local OpenID Provider with the fictional
employees, and ``egnedata serve``. A caseworker logs in through the provider's own
form. The queue is filled with 100 open items (access requests and flags, deadlines
spread over four months around today, flags over seven units), and the first page
``GET /konsol`` (with its counts) is fetched by a few concurrent clients; then with
100,000 more the same again. Prints p50/p95 latency of each and the ratio of the large
queue's to the small one's (the goal: at most 2, from the partial indexes and keyset
paging: nothing is sorted outside the database).

    python bench/console.py                       # 100 and 100,000 items, 300 GETs each
    python bench/console.py --large 20000 --gets 100

Needs PostgreSQL (EGNEDATA_TEST_POSTGRES) as the tests do, and Node.js with npm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from _stack import (  # puts the project on sys.path
    CPRS,
    free_port,
    percentile,
    service_stack,
    wait_for_port,
)

from exporter.cpr import Cpr
from exporter.devlogin import FICTIONAL_STAFF, STAFF_UNIT_MAP, Client, LocalProvider
from exporter.login.flow import STAFF_CALLBACK_PATH
from exporter.login.keys import generate_client_key, public_jwks
from tests.portal import start_login_at

REQUEST_STATES = ("received", "collecting", "assembling", "failed", "ready_with_gaps")
FLAG_STATES = ("received", "in_review")
UNITS = tuple(f"U{n:02d}" for n in range(1, 8))


def _fill(db_url: str, count: int, rng: random.Random) -> None:
    """``count`` open items, half requests and half flags, with their rows as the
    service writes them (a request's source tasks too)."""
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    cprs = [Cpr.parse(c).digits for c in CPRS]
    with psycopg.connect(db_url) as db, db.cursor() as cursor:
        for start in range(0, count, 5000):
            batch = range(start, min(count, start + 5000))
            requests, tasks, flags = [], [], []
            for n in batch:
                due = today + timedelta(days=rng.randint(-60, 60))
                cpr = rng.choice(cprs)
                if n % 2:
                    request_id = str(uuid.uuid4())
                    state = rng.choice(REQUEST_STATES)
                    requests.append((request_id, cpr, cpr, "citizen", now, due, state, now))
                    for source in ("cpr", "sagsindeks", "ydelsesindeks"):
                        failed = state in ("failed", "ready_with_gaps") and source == "cpr"
                        tasks.append((str(uuid.uuid4()), request_id, source,
                                      "failed" if failed else "done", 1,
                                      "unreachable" if failed else None, now))
                else:
                    flag_id = str(uuid.uuid4())
                    flags.append((flag_id, cpr, f"urn:egnedata:0751:sagsindeks:case:{flag_id}",
                                  str(uuid.uuid4()), "sager", "sagsindeks",
                                  rng.choice(UNITS), "{}", rng.choice(FLAG_STATES), now, due,
                                  cpr, "citizen", now))
            cursor.executemany(
                "INSERT INTO requests (id, subject_cpr, requested_by, requester_role, "
                "received_at, deadline, state, state_changed_at, generation, "
                "assemble_attempt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, 0)", requests)
            cursor.executemany(
                "INSERT INTO source_tasks (id, request_id, source_id, state, attempt, "
                "last_error, finished_at, records_fetched, records_accepted, "
                "records_rejected) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, 0)", tasks)
            cursor.executemany(
                "INSERT INTO flags (id, subject_cpr, record_id, package_id, dataset_id, "
                "source_id, unit, record, state, received_at, deadline, created_by, "
                "created_by_role, state_changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s)", flags)
        db.commit()
    with psycopg.connect(db_url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE requests")
        db.execute("VACUUM ANALYZE flags")
        db.execute("VACUUM ANALYZE source_tasks")


async def _fetch(url: str, cookies: httpx.Cookies, count: int, timings: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = await client.get("/konsol")
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or "queue-caption" not in response.text:
                raise RuntimeError(f"/konsol answered {response.status_code}")
            timings.append(elapsed)


async def _clients(url: str, cookies: httpx.Cookies, gets: int, clients: int
                   ) -> list[float]:
    timings: list[float] = []
    await _fetch(url, cookies, 10, [])  # warm up
    await asyncio.gather(*(_fetch(url, cookies, gets // clients, timings)
                           for _ in range(clients)))
    return timings


def _measure(url: str, cookies: httpx.Cookies, gets: int, clients: int) -> list[float]:
    return asyncio.run(_clients(url, cookies, gets, clients))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=300)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(20261206)

    with service_stack("egnedata-console-bench-") as stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        key_file = stack.work / "login-client.jwk"
        key = generate_client_key(key_file)
        provider = LocalProvider(
            port=free_port(), accounts=FICTIONAL_STAFF,
            clients=[Client("bench-konsol", [url + STAFF_CALLBACK_PATH],
                            [url + "/konsol/logget-ud"], public_jwks(key))],
            cache=Path(__file__).resolve().parents[1] / ".test-cache")
        try:
            env = stack.env
            env.pop("EGNEDATA_REDIS_URL", None)
            env.update({
                "EGNEDATA_PUBLIC_URL": url, "EGNEDATA_STAFF_LOGIN_ISSUER": provider.issuer,
                "EGNEDATA_STAFF_LOGIN_CLIENT_ID": "bench-konsol",
                "EGNEDATA_STAFF_LOGIN_CLIENT_KEY": str(key_file),
                "EGNEDATA_STAFF_UNIT_MAP": json.dumps(STAFF_UNIT_MAP),
                "EGNEDATA_DATA_DIR": str(stack.work),
            })
            stack.start("serve", "--port", str(port), "--log-level", "warning")
            wait_for_port(port, timeout=60)
            http = httpx.Client(follow_redirects=False, timeout=60)
            http.get(start_login_at(http, url, provider.issuer, "/konsol", "sagsbehandler",
                                    console=True))
            results = {}
            filled = 0
            for size in (args.small, args.large):
                started = time.perf_counter()
                _fill(stack.db_url, size - filled, rng)
                filled = size
                print(f"{size:,} open items in the queue ({time.perf_counter() - started:.1f} s "
                      "to add them)")
                results[size] = _measure(url, http.cookies, args.gets, args.clients)
            http.close()
        finally:
            provider.stop()
    print(f"\n{'open items':>12} {'p50 ms':>8} {'p95 ms':>8}   ({args.gets} GETs of /konsol, "
          f"{args.clients} concurrent clients)")
    for size, values in results.items():
        print(f"{size:>12,} {1000 * percentile(values, .5):8.1f} "
              f"{1000 * percentile(values, .95):8.1f}")
    small, large = results[args.small], results[args.large]
    print(f"\nratio, {args.large:,} to {args.small:,} items: p50 "
          f"{percentile(large, .5) / percentile(small, .5):.2f}, p95 "
          f"{percentile(large, .95) / percentile(small, .95):.2f} (goal at most 2)")


if __name__ == "__main__":
    main()
