"""The real services a service benchmark runs against, set up and torn down in one place.

A fresh PostgreSQL database (admin URL from EGNEDATA_TEST_POSTGRES, as the tests use), a
private redis-server on a free port, a work folder for blobs and keys, and the
``egnedata`` processes a benchmark starts, all logged to one file whose tail is printed
if the benchmark fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_for_port  # noqa: E402

__all__ = ["ADMIN", "CPRS", "EGNEDATA", "Stack", "free_port", "percentile", "service_stack",
           "wait_for_port"]

EGNEDATA = [sys.executable, "-m", "exporter"]
ADMIN = os.environ.get(
    "EGNEDATA_TEST_POSTGRES", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
CPRS = [f"{61 + d:02d}{m:02d}{y:02d}-{s:04d}" for d in range(28) for m in range(1, 13)
        for y in (60, 75, 88) for s in (1234, 2345, 3456)]
"""Distinct synthetic CPR numbers (day of month 61-88)."""


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank), as every benchmark reports it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Stack:
    work: Path
    db_url: str
    redis_url: str
    env: dict[str, str]
    log: IO[bytes]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``egnedata ARGS`` with the stack's environment, logged."""
        return self.spawn([*EGNEDATA, *args])

    def spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, env=self.env, stdout=self.log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def run(self, *args: str) -> str:
        """Run ``egnedata ARGS`` to the end; its standard output."""
        return subprocess.run([*EGNEDATA, *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout


@contextlib.contextmanager
def service_stack(prefix: str) -> Iterator[Stack]:
    work = Path(tempfile.mkdtemp(prefix=prefix))
    database = f"egnedata_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--dir", str(work)], stdout=subprocess.DEVNULL)
    log_path = work / "processes.log"
    stack = Stack(
        work=work,
        db_url=ADMIN.rsplit("/", 1)[0] + f"/{database}",
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        env={},
        log=log_path.open("wb"),
        processes=[redis],
    )
    stack.env = {
        **os.environ,
        "EGNEDATA_DATABASE_URL": stack.db_url,
        "EGNEDATA_REDIS_URL": stack.redis_url,
        "EGNEDATA_BLOB_URL": str(work / "blobs"),
        "EGNEDATA_KEYS_DIR": str(work / "keys"),
    }
    try:
        wait_for_port(redis_port)
        yield stack
    except BaseException:
        stack.log.flush()
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        for process in reversed(stack.processes):
            process.terminate()
        for process in stack.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        stack.log.close()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)
