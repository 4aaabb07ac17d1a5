"""Service contexts on SQLite and on PostgreSQL, with an in-process or a manual queue."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.db.models import Request
from exporter.keys import Keyring
from exporter.profile import Profile
from exporter.service.context import ServiceContext
from exporter.service.queue import JobSpec
from exporter.settings import Settings
from formats import age


class ManualQueue:
    """Keeps queued jobs for the test to run, drop or run twice."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, str, tuple[str | int, ...]]] = []

    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        self.jobs.append((kind, job_id, args))

    def enqueue_many(self, jobs: list[JobSpec]) -> None:
        for job in jobs:
            self.enqueue(job.kind, job.job_id, *job.args, timeout=job.timeout)

    def pending(self, job_id: str) -> bool:
        return any(j[1] == job_id for j in self.jobs)

    def pending_many(self, job_ids: list[str]) -> set[str]:
        return {job_id for job_id in job_ids if self.pending(job_id)}

    def ping(self) -> bool:
        return True

    def take(self) -> list[tuple[str, str, tuple[str | int, ...]]]:
        jobs, self.jobs = self.jobs, []
        return jobs


def manual_queue(context: ServiceContext) -> ManualQueue:
    """The queue of a context made with ``make_context(manual=True)``."""
    assert isinstance(context.queue, ManualQueue)
    return context.queue


def run_all(context: ServiceContext, queue: ManualQueue, *, rounds: int = 10) -> None:
    """Run queued jobs (and the jobs they queue) until none are left."""
    for _ in range(rounds):
        jobs = queue.take()
        if not jobs:
            return
        for kind, _job_id, args in jobs:
            context.run_job(kind, args)
    raise AssertionError("jobs kept queueing more jobs")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'egnedata.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


ContextFactory = Callable[..., ServiceContext]


@pytest.fixture
def make_context(
    tmp_path: Path, database_url: str, keys_dir: Path, demo_profile: Profile
) -> Iterator[ContextFactory]:
    made: list[ServiceContext] = []

    def make(
        *, profile: Profile | None = None, manual: bool = False, **overrides: Any
    ) -> ServiceContext:
        values: dict[str, Any] = {
            "database_url": database_url,
            "blob_url": str(tmp_path / "blobs"),
            "keys_dir": keys_dir,
            "lease_seconds": 2.0,
            "reconcile_interval_seconds": 0.5,
        }
        values.update(overrides)
        context = ServiceContext.build(Settings(**values), profile=profile or demo_profile)
        if manual:
            context.queue = ManualQueue()
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def wait_for(
    context: ServiceContext, request_id: str, states: set[str], timeout: float = 60.0
) -> Request:
    deadline = time.monotonic() + timeout
    while True:
        with context.sessions() as session:
            row = session.get(Request, request_id)
            assert row is not None
            if row.state in states:
                return row
        if time.monotonic() > deadline:
            raise AssertionError(f"request is still {row.state}, not one of {states}")
        time.sleep(0.05)


def package_bytes(context: ServiceContext, request_id: str, keyring: Keyring) -> bytes:
    """The stored package of a request, decrypted."""
    with context.sessions() as session:
        row = session.get(Request, request_id)
        assert row is not None and row.package is not None
        key = row.package.blob_key
    with context.blobs.open_reader(key) as raw:
        plain = io.BytesIO()
        age.decrypt(raw, plain, keyring.vault_identities)
    return plain.getvalue()


def package_zip(context: ServiceContext, request_id: str, keyring: Keyring) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(package_bytes(context, request_id, keyring)))
