"""The rq queue against a real Redis: what counts as a pending job."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from exporter.service.queue import JobSpec, RqQueue, RqWorker


@pytest.fixture
def queue(redis_url: str) -> RqQueue:
    return RqQueue(Redis.from_url(redis_url), f"test-{uuid.uuid4().hex[:8]}")


def test_pending_many_asks_about_every_job_at_once(queue: RqQueue) -> None:
    ids = [f"collect-{uuid.uuid4()}-1" for _ in range(3)]
    queue.enqueue_many([JobSpec("collect", job_id, (job_id, 1), 60) for job_id in ids[:2]])
    gone = Job.fetch(ids[1], connection=queue.connection, serializer=JSONSerializer)
    gone.delete()  # as after a flushed Redis
    assert queue.pending_many(ids) == {ids[0]}
    assert queue.pending_many([]) == set()
    assert queue.pending(ids[0]) and not queue.pending(ids[2])


@pytest.mark.parametrize("status", [JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED,
                                    JobStatus.CANCELED])
def test_an_ended_job_is_not_pending(queue: RqQueue, status: JobStatus) -> None:
    job_id = f"collect-{uuid.uuid4()}-1"
    queue.enqueue("collect", job_id, "task-id", 1, timeout=60)
    assert queue.pending(job_id)
    Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer).set_status(status)
    assert queue.pending_many([job_id]) == set()


class _Counting(Redis):
    """Records the commands sent outside pipelines, with their first argument."""

    sent: list[tuple[str, ...]]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(tuple(str(a) for a in args[:3]))
        return super().execute_command(*args, **options)


def test_the_worker_runs_jobs_and_renews_its_key_once_per_job_not_three_times(
    queue: RqQueue, redis_url: str
) -> None:
    connection = _Counting.from_url(redis_url)
    connection.sent = []
    jobs = [queue.queue.enqueue("builtins.len", "abcd", job_id=f"len-{uuid.uuid4()}")
            for _ in range(5)]
    worker = RqWorker([queue.queue], connection=connection, serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=False)

    for job in jobs:
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED and job.return_value() == 4
    renewals = [c for c in connection.sent if c[:3] == ("HSET", worker.key, "last_heartbeat")]
    # rq alone sends three per job; here one, after the job's own shorter expiry
    assert len(renewals) <= len(jobs) + 1
    states = [c for c in connection.sent if c[:3] == ("HSET", worker.key, "state")]
    assert len(states) <= 2 * len(jobs) + 2  # busy, idle per job; no idle twice in a row


def test_a_renewal_asking_for_a_longer_life_is_sent_at_once(redis_url: str) -> None:
    connection = Redis.from_url(redis_url)
    worker = RqWorker([RqQueue(connection, f"test-{uuid.uuid4().hex[:8]}").queue],
                      connection=connection, serializer=JSONSerializer)
    worker.register_birth()
    try:
        worker.heartbeat()
        connection.hdel(worker.key, "last_heartbeat")
        worker.heartbeat()  # within the slack: not sent
        assert connection.hget(worker.key, "last_heartbeat") is None
        worker.heartbeat(timeout=worker.worker_ttl * 10)  # a long job: sent
        assert connection.hget(worker.key, "last_heartbeat") is not None
        assert connection.ttl(worker.key) > worker.worker_ttl * 9

        pipe = connection.pipeline()
        worker.heartbeat(timeout=30, pipeline=pipe)  # a short job starts: a short expiry
        pipe.execute()
        connection.hdel(worker.key, "last_heartbeat")
        worker.heartbeat()  # so the usual renewal is due again at once
        assert connection.hget(worker.key, "last_heartbeat") is not None
        assert connection.ttl(worker.key) > worker.worker_ttl
    finally:
        worker.register_death()
