"""The rq queue against a real Redis: what counts as a pending job."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from exporter.service.queue import JobSpec, RqQueue


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
