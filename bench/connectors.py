"""Benchmark: the ``http`` and ``sql`` connectors' fetch and mapping path.

For each connector and size it runs one full read of a subject's records in a fresh
child process (so peak RSS is that run's alone): every page fetched by the connector
and mapped by the dataset's mapping, as the pipeline does before validation. With
``--validate`` it also runs ``collect_source`` (mapping, ids, schema validation and
staging) at the middle size. It prints records/s and peak RSS, and checks the goals:
http >= 5,000 records/s from a local server with 500-record pages, sql >= 50,000 rows/s
from PostgreSQL, and peak RSS at the largest size no more than 1.5x that at the smallest.

    python bench/connectors.py                          # 10k, 100k, 1M records
    python bench/connectors.py --sizes 10000 --validate

PostgreSQL: the admin URL from EGNEDATA_TEST_POSTGRES (default
postgresql://postgres:postgres@127.0.0.1:5432/postgres); a temporary database is made
and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN = os.environ.get(
    "EGNEDATA_TEST_POSTGRES", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
SQL_QUERY = ("SELECT sagsid, sagsnr, titel, kle, status, oprettet, enhed FROM sag "
             "WHERE cpr = :cpr")


def _cpr(size: int) -> str:
    return {10_000: "0101901234", 100_000: "0202902345"}.get(size, "0303903456")


def _child(kind: str, size: int, target: str, validate: bool) -> dict[str, Any]:
    from exporter.mapping import map_page
    from tests.exporter.connectors.support import case_dataset, source, subject

    if kind == "http":
        settings: dict[str, Any] = {
            "base_url": target, "path": "/bulk/{cpr}", "paging": "offset",
            "page_size": 500, "records": "data", "query": {"total": str(size)}}
        options: dict[str, Any] = {}
    else:
        settings = {"url": target, "page_size": 5000,
                    "password_env": "EGNEDATA_BENCH_DB_PASSWORD"}
        options = {"query": SQL_QUERY, "key": "sagsid"}
    src = source(kind, settings, case_dataset(options=options), timeout_seconds=3600)
    who = subject(_cpr(size))
    from exporter.connectors import connector_class

    # Start-up is not throughput: a worker imports the connector and its database driver
    # once, when it makes its first connector of the kind. A throwaway connector does
    # that here, before the clock; the timed run makes its own (engine and all).
    connector_class(kind).from_settings(src.settings)
    started = time.perf_counter()
    if validate:
        from exporter.pipeline.collect import collect_source
        from exporter.pipeline.stage import EphemeralStage

        with EphemeralStage() as stage:
            [result] = collect_source(src, who, "0751", stage)
        records, accepted = result.fetched, result.accepted
    else:
        connector = connector_class(kind).from_settings(src.settings)
        dataset = src.datasets[0]
        cursor, records = None, 0
        while True:
            page = map_page(connector.fetch(who, dataset, cursor), dataset)
            records += len(page.records)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        accepted = records
    elapsed = time.perf_counter() - started
    return {"records": records, "accepted": accepted, "seconds": elapsed,
            "records_per_s": records / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run(kind: str, size: int, target: str, validate: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", kind, str(size), target]
    if validate:
        args.append("--validate")
    proc = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _sql_database(sizes: list[int]) -> tuple[str, str]:
    """A temporary database with a ``sag`` table holding each size's rows for one CPR."""
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.exporter.connectors.case_index import raw_case

    name = f"egnedata_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN).set(database=name)
    plain = url.render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        conn.execute("CREATE TABLE sag (sagsid TEXT, cpr TEXT, sagsnr INTEGER, titel TEXT, "
                     "kle TEXT, status TEXT, oprettet TEXT, enhed TEXT)")
        with conn.cursor().copy("COPY sag FROM STDIN") as copy:
            for size in sizes:
                cpr = _cpr(size)
                for i in range(size):
                    c = raw_case(i)
                    copy.write_row((c["sagsid"], cpr, c["sagsnr"], c["titel"], c["kle"],
                                    c["status"], c["oprettet"], c["enhed"]))
        conn.execute("ALTER TABLE sag ADD PRIMARY KEY (cpr, sagsid)")
        conn.execute("ANALYZE sag")
    # The connector takes passwords from the environment only; the children inherit it.
    os.environ["EGNEDATA_BENCH_DB_PASSWORD"] = url.password or ""
    bare = url._replace(password=None, drivername="postgresql+psycopg")
    return name, bare.render_as_string(hide_password=False)


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--connectors", default="http,sql")
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SIZE", "TARGET"))
    args = parser.parse_args()
    if args.child:
        kind, size, target = args.child
        print(json.dumps(_child(kind, int(size), target, args.validate)))
        return
    from tests.exporter.connectors.case_index import case_index

    sizes = [int(s) for s in args.sizes.split(",")]
    goals = {"http": 5_000, "sql": 50_000}
    ok = True
    print(f"{'connector':<10}{'mode':<16}{'records':>10}{'seconds':>9}{'records/s':>12}"
          f"{'peak RSS MB':>13}")
    for kind in args.connectors.split(","):
        database = ""
        with case_index() as index:
            if kind == "sql":
                database, target = _sql_database(sizes)
            else:
                target = index.url
            try:
                runs = [(size, _run(kind, size, target, False)) for size in sizes]
                if args.validate:
                    mid = sizes[len(sizes) // 2]
                    runs.append((-mid, _run(kind, mid, target, True)))
            finally:
                if database:
                    _drop(database)
        for size, r in runs:
            mode = "collect_source" if size < 0 else "fetch+map"
            print(f"{kind:<10}{mode:<16}{r['records']:>10,}{r['seconds']:>9.2f}"
                  f"{r['records_per_s']:>12,.0f}{r['peak_rss_mb']:>13.1f}")
        plain = [r for size, r in runs if size > 0]
        rate = min(r["records_per_s"] for r in plain)
        growth = plain[-1]["peak_rss_mb"] / plain[0]["peak_rss_mb"]
        rate_ok, flat = rate >= goals[kind], growth <= 1.5
        ok = ok and rate_ok and flat
        print(f"  {kind}: slowest {rate:,.0f} records/s (goal {goals[kind]:,}: "
              f"{'met' if rate_ok else 'NOT met'}); peak RSS x{growth:.2f} from smallest to "
              f"largest (goal <= 1.5: {'met' if flat else 'NOT met'})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
