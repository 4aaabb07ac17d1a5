"""Job queues: rq on Redis, or an in-process pool when no Redis is configured.

Either way a job is a module-level function of ``workers.jobs`` called with ids only,
and Redis (when used) holds nothing but those ids. The job id is derived from what the
job works on and its attempt (``collect-<task>-<attempt>``), which lets the reconciler
ask whether a job for that attempt still exists.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from redis import Redis
from redis.client import Pipeline
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

__all__ = ["InProcessQueue", "JobQueue", "JobSpec", "RqQueue", "RqWorker", "job_function"]

log = logging.getLogger(__name__)

JOB_FUNCTIONS = {
    "collect": "workers.jobs.collect",
    "assemble": "workers.jobs.assemble",
    "deliver": "workers.jobs.deliver",
    "notify": "workers.jobs.notify",
}


def job_function(kind: str) -> Callable[..., Any]:
    import importlib

    module, _, name = JOB_FUNCTIONS[kind].rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


@dataclass(frozen=True)
class JobSpec:
    """One job to queue: ``workers.jobs.<kind>(*args)`` under ``job_id``."""

    kind: str
    job_id: str
    args: tuple[str | int, ...]
    timeout: float


class JobQueue(Protocol):
    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        """Queue ``workers.jobs.<kind>(*args)`` under ``job_id`` (ids and numbers only)."""
        ...

    def enqueue_many(self, jobs: list[JobSpec]) -> None:
        """Queue several jobs at once (one round trip where the queue allows)."""
        ...

    def pending(self, job_id: str) -> bool:
        """Whether a job of that id is queued or running (or might be: when unsure, True)."""
        ...

    def pending_many(self, job_ids: list[str]) -> set[str]:
        """Those of ``job_ids`` that are :meth:`pending` (one round trip where the queue
        allows)."""
        ...

    def ping(self) -> bool: ...


_PENDING = frozenset({"queued", "started", "deferred", "scheduled"})


class RqQueue:
    """rq with the JSON serializer: job arguments are ids and attempt numbers."""

    def __init__(self, connection: Redis, name: str) -> None:
        self.connection = connection
        self.queue = Queue(name, connection=connection, serializer=JSONSerializer)

    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        self.enqueue_many([JobSpec(kind, job_id, args, timeout)])

    def enqueue_many(self, jobs: list[JobSpec]) -> None:
        self.queue.enqueue_many([
            Queue.prepare_data(
                JOB_FUNCTIONS[job.kind],
                args=job.args,
                job_id=job.job_id,
                timeout=max(1, int(job.timeout)),
                result_ttl=300,
                failure_ttl=86_400,
            )
            for job in jobs
        ])

    def pending(self, job_id: str) -> bool:
        return job_id in self.pending_many([job_id])

    def pending_many(self, job_ids: list[str]) -> set[str]:
        """Reads only each job's status field, all in one pipeline: the reconciler asks
        about every waiting job, and a backlog can hold thousands."""
        if not job_ids:
            return set()
        pipe = self.connection.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        statuses = pipe.execute()
        return {job_id for job_id, status in zip(job_ids, statuses, strict=True)
                if status is not None and status.decode() in _PENDING}

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except Exception:
            return False


class RqWorker(SimpleWorker):
    """rq's SimpleWorker (jobs run in this process, no fork per job: they are short and
    keep their database connections; a job's time limit still applies), telling Redis
    less often that it is alive.

    rq renews the worker's key three times per job, each a hash write and two expiry
    updates, and writes its state "idle" twice in a row: about half the Redis round
    trips a short job costs. Here a renewal is sent only when the key would otherwise
    expire more than ``BEAT_SLACK`` seconds earlier than rq asks (so a renewal asking
    for a longer life, as for a long job, always goes through), and a state only when it
    changes. ``rq info`` and the key's expiry lag by at most that slack, against a
    worker lifetime of minutes.
    """

    BEAT_SLACK = 5.0

    _alive_until = float("-inf")

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        until = time.monotonic() + (timeout or self.worker_ttl + 60)
        if pipeline is None and until <= self._alive_until + self.BEAT_SLACK:
            return
        super().heartbeat(timeout, pipeline)
        # An expiry replaces the one before, shorter or not (rq sends a job's own,
        # shorter one through a pipeline as the job starts).
        self._alive_until = until

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is None and state == self.get_state():
            return
        super().set_state(state, pipeline)


class InProcessQueue:
    """The embedded default: the same job functions on a thread pool in this process."""

    def __init__(self, workers: int, run: Callable[[str, tuple[str | int, ...]], None]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="egnedata-job")
        self._run = run
        self._lock = threading.Lock()
        self._jobs: dict[str, Future[None]] = {}

    def enqueue(self, kind: str, job_id: str, *args: str | int, timeout: float) -> None:
        with self._lock:
            existing = self._jobs.get(job_id)
            if existing is not None and not existing.done():
                return
            future = self._pool.submit(self._call, kind, args)
            self._jobs[job_id] = future
            future.add_done_callback(functools.partial(self._forget, job_id))

    def _forget(self, job_id: str, _future: Future[None]) -> None:
        with self._lock:
            future = self._jobs.get(job_id)
            if future is not None and future.done():
                del self._jobs[job_id]

    def _call(self, kind: str, args: tuple[str | int, ...]) -> None:
        try:
            self._run(kind, args)
        except Exception:
            log.exception("job %s failed", kind)

    def enqueue_many(self, jobs: list[JobSpec]) -> None:
        for job in jobs:
            self.enqueue(job.kind, job.job_id, *job.args, timeout=job.timeout)

    def pending_many(self, job_ids: list[str]) -> set[str]:
        return {job_id for job_id in job_ids if self.pending(job_id)}

    def pending(self, job_id: str) -> bool:
        with self._lock:
            future = self._jobs.get(job_id)
            return future is not None and not future.done()

    def ping(self) -> bool:
        return True

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
