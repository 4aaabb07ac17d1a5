"""Benchmark: the citizen's pages against the JSON API, with logged-in sessions.

Starts PostgreSQL (a fresh database), the local OpenID Provider with N fictional
citizens, and ``egnedata serve`` (embedded queue). Each citizen logs in through the
provider's own form and gets one ready request. Then N concurrent clients, one per
session, each repeat in turn:

- the overview page ``/mine-data`` and the same data from ``GET /v1/overview``;
- the status page ``/anmodninger/{id}`` and ``GET /v1/requests/{id}``;

so pages and API are measured side by side under the same load, with the same session
cookie. Prints p50/p95 latency of each, and the ratio of the pages' p95 to the API's
(the goal: at most 1.5).

    python bench/portal.py                  # 50 sessions, 20 rounds each
    python bench/portal.py --sessions 20 --rounds 10

Needs PostgreSQL (EGNEDATA_TEST_POSTGRES) as the tests do, and Node.js with npm.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from pathlib import Path

import httpx
from _stack import (  # puts the project on sys.path
    CPRS,
    free_port,
    percentile,
    service_stack,
    wait_for_port,
)

from exporter.cpr import Cpr
from exporter.devlogin import Account, Client, LocalProvider
from exporter.login import CALLBACK_PATH
from exporter.login.keys import generate_client_key, public_jwks
from tests.portal import start_login_at


def _log_in_and_request(url: str, issuer: str, login: str) -> tuple[httpx.Client, str]:
    """A logged-in client and the id of its ready request."""
    http = httpx.Client(follow_redirects=False, timeout=60)
    http.get(start_login_at(http, url, issuer, "/mine-data", login))
    page = http.get(f"{url}/mine-data")  # also makes the overview (the dry run)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    made = http.post(f"{url}/v1/requests", json={}, headers={"X-CSRF-Token": csrf})
    request_id = made.json()["id"]
    deadline = time.monotonic() + 120
    while http.get(f"{url}/v1/requests/{request_id}").json()["state"] not in (
            "ready", "ready_with_gaps"):
        if time.monotonic() > deadline:
            raise RuntimeError("a request did not get ready")
        time.sleep(0.1)
    return http, request_id


async def _browse(url: str, cookies: httpx.Cookies, request_id: str, rounds: int,
                  timings: dict[str, list[float]]) -> None:
    paths = {
        "page overview": "/mine-data",
        "api overview": "/v1/overview",
        "page status": f"/anmodninger/{request_id}",
        "api status": f"/v1/requests/{request_id}",
    }
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as client:
        for _ in range(rounds):
            for name, path in paths.items():
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}")
                timings[name].append(elapsed)


async def _load(url: str, sessions: list[tuple[httpx.Client, str]], rounds: int
                ) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {k: [] for k in (
        "page overview", "api overview", "page status", "api status")}
    await asyncio.gather(*(_browse(url, http.cookies, request_id, rounds, timings)
                           for http, request_id in sessions))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    accounts = [Account(f"borger{i}", f"Borger {i}", Cpr.parse(cpr).digits)
                for i, cpr in enumerate(CPRS[: args.sessions])]
    with service_stack("egnedata-portal-bench-") as stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        key_file = stack.work / "login-client.jwk"
        key = generate_client_key(key_file)
        provider = LocalProvider(
            port=free_port(), accounts=accounts,
            clients=[Client("bench", [url + CALLBACK_PATH], [url + "/logget-ud"],
                            public_jwks(key))],
            cache=Path(__file__).resolve().parents[1] / ".test-cache")
        try:
            env = stack.env
            env.pop("EGNEDATA_REDIS_URL", None)
            env.update({
                "EGNEDATA_PUBLIC_URL": url, "EGNEDATA_LOGIN_ISSUER": provider.issuer,
                "EGNEDATA_LOGIN_CLIENT_ID": "bench",
                "EGNEDATA_LOGIN_CLIENT_KEY": str(key_file),
                "EGNEDATA_DATA_DIR": str(stack.work),
            })
            stack.start("serve", "--port", str(port), "--log-level", "warning")
            wait_for_port(port, timeout=60)
            started = time.perf_counter()
            sessions = [_log_in_and_request(url, provider.issuer, a.login) for a in accounts]
            print(f"{len(sessions)} citizens logged in through the provider, each with a "
                  f"ready request, in {time.perf_counter() - started:.1f} s")
            asyncio.run(_load(url, sessions[:5], 2))  # warm up
            started = time.perf_counter()
            timings = asyncio.run(_load(url, sessions, args.rounds))
            elapsed = time.perf_counter() - started
            for http, _ in sessions:
                http.close()
        finally:
            provider.stop()
    total = sum(len(v) for v in timings.values())
    print(f"{total} GETs from {args.sessions} concurrent sessions in {elapsed:.1f} s "
          f"({total / elapsed:.0f}/s)\n")
    print(f"{'':16} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, values in timings.items():
        print(f"{name:16} {1000 * percentile(values, .5):8.1f} "
              f"{1000 * percentile(values, .95):8.1f} {1000 * statistics.mean(values):8.1f}")
    pages = timings["page overview"] + timings["page status"]
    api = timings["api overview"] + timings["api status"]
    ratio = percentile(pages, .95) / percentile(api, .95)
    print(f"\npages p95 {1000 * percentile(pages, .95):.1f} ms, API p95 "
          f"{1000 * percentile(api, .95):.1f} ms: ratio {ratio:.2f} (goal at most 1.5)")
    for kind in ("overview", "status"):
        page, json = timings[f"page {kind}"], timings[f"api {kind}"]
        print(f"  {kind}: p95 ratio {percentile(page, .95) / percentile(json, .95):.2f}, "
              f"p50 ratio {percentile(page, .5) / percentile(json, .5):.2f}")


if __name__ == "__main__":
    main()
