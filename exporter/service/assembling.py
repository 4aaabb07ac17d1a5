"""The assemble job: staged datasets -> signed package -> encrypted blob -> ready.

It runs once every source task has ended, failed ones included: a failed source is a
gap that the package names. The blob key is fixed per request and generation, so a
second attempt after a crash overwrites rather than duplicates, and the outcome is
recorded only if the attempt still holds the request's assembly lease.

If a collected source's staged data is gone (deleted, a lost disk, or staged by a
version that staged another way), the source is collected again and the package is
assembled after that, instead of the assembly failing attempt after attempt.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import IO, cast

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from exporter.db.models import Package, Request, table_of
from exporter.errors import BlobNotFound, EgneDataError, KeyringError
from exporter.keys import Keyring
from exporter.pipeline.assemble import assemble
from exporter.pipeline.collect import DatasetResult
from exporter.pipeline.stage import Stage
from exporter.service.audit import SYSTEM_ACTOR
from exporter.service.collecting import result_from_json, stage_prefix
from exporter.service.context import ServiceContext
from exporter.service.leases import Heartbeat, Leased, LeaseLost
from exporter.service.lifecycle import RequestState, TaskState
from exporter.service.requests import (
    enqueue_collect,
    lock_request,
    scoped_profile,
    transition,
)
from exporter.signing import KeySigner
from exporter.storage import BlobStage
from formats import age
from formats.container import HashingWriter

__all__ = ["assemble_request", "package_blob_key"]

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("0b4c0e38-5a55-4c55-9d0e-4567e6a7d001")


def package_blob_key(request_id: str, generation: int) -> str:
    return f"packages/{request_id}/{generation}.zip.age"


class StagedDataMissing(EgneDataError):
    """A collected source's staged data is not in the blob store."""

    def __init__(self, source_id: str) -> None:
        super().__init__(f"the staged data of source {source_id!r} is missing")
        self.source_id = source_id


class _RoutedStage:
    """Reads each dataset's staged streams from the prefix of the attempt that won."""

    def __init__(self, stages: Mapping[str, Stage], sources: Mapping[str, str]) -> None:
        self._stages = stages
        self._sources = sources  # dataset id -> source id

    def _stage(self, name: str) -> Stage:
        return self._stages[name.rpartition(".")[0]]

    def writer(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        raise RuntimeError("the assembly stage is read-only")

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        try:
            with self._stage(name).reader(name) as stream:
                yield stream
        except BlobNotFound:
            raise StagedDataMissing(self._sources[name.rpartition(".")[0]]) from None

    def discard(self, name: str) -> None:
        raise RuntimeError("the assembly stage is read-only")


ASSEMBLY_LEASE = Leased(Request, Request.assemble_attempt, Request.assemble_lease_until,
                        running=Request.state == RequestState.ASSEMBLING.value,
                        free=(Request.state == RequestState.ASSEMBLING.value)
                        & Request.assemble_lease_until.is_(None))


def _claim(session: Session, context: ServiceContext, request_id: str, attempt: int,
           now: datetime) -> Request | None:
    request: Request | None = ASSEMBLY_LEASE.claim(
        session, request_id, attempt, now=now, seconds=context.settings.lease_seconds,
    )
    return request


def assemble_request(context: ServiceContext, request_id: str, attempt: int) -> None:
    now = datetime.now(UTC)
    with context.sessions.begin() as session:
        request = _claim(session, context, request_id, attempt, now)
        if request is None:
            log.info("assemble %s attempt %d: not ours to run", request_id, attempt)
            return
        if attempt > context.settings.max_attempts:
            request.last_error = f"assembly stopped after {context.settings.max_attempts} attempts"
            transition(session, request, RequestState.FAILED, SYSTEM_ACTOR, now=now,
                       detail={"reason": request.last_error})
            return
        generation = request.generation
        datasets = request.datasets
        period = None
        if request.period_from or request.period_to:
            period = (
                request.period_from.isoformat() if request.period_from else None,
                request.period_to.isoformat() if request.period_to else None,
            )
        results, stage_attempts = _results(request)
    try:
        keyring = context.keyring
        profile = scoped_profile(context.profile, datasets)
        stages: dict[str, Stage] = {
            r.dataset_id: BlobStage(
                context.blobs, stage_prefix(request_id, r.source_id, stage_attempts[r.source_id]),
                keyring,
            )
            for r in results
            if r.complete
        }
        package_id = str(uuid.uuid5(_NAMESPACE, f"{request_id}:{generation}"))
        key = package_blob_key(request_id, generation)
        beat = Heartbeat(context.sessions.begin, ASSEMBLY_LEASE, request_id, attempt,
                         context.settings.lease_seconds, "assembly")
        with context.blobs.open_writer(key) as raw:
            counted = HashingWriter(raw)
            sink = cast(IO[bytes], counted)
            with age.encrypt_stream(sink, [keyring.current_recipient]) as encrypted:
                plain = HashingWriter(encrypted)
                assemble(
                    [cast(IO[bytes], plain)],
                    profile,
                    results,
                    _RoutedStage(stages, {r.dataset_id: r.source_id for r in results}),
                    KeySigner(keyring.signing_key),
                    package_id=package_id,
                    generated_at=now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                    progress=lambda _step, _records: beat(),
                    period=period,
                    # Records link to the portal's flag form where citizens can log in.
                    flag_url=context.settings.public_url
                    if context.settings.login_configured else "",
                )
    except LeaseLost:
        log.warning("assemble %s attempt %d lost its lease", request_id, attempt)
        return
    except StagedDataMissing as exc:
        _collect_again(context, request_id, attempt, exc.source_id)
        return
    except KeyringError as exc:
        _fail(context, request_id, attempt, f"no usable key: {exc}")  # fail closed
        raise
    complete = all(r.complete for r in results)
    _finish(context, request_id, attempt, package_id, key, counted, plain.size, keyring,
            complete=complete)


def _results(request: Request) -> tuple[list[DatasetResult], dict[str, int]]:
    results: list[DatasetResult] = []
    stage_attempts: dict[str, int] = {}
    for task in request.tasks:
        for data in task.results or []:
            results.append(result_from_json(data))
        if task.stage_attempt is not None:
            stage_attempts[task.source_id] = task.stage_attempt
    return results, stage_attempts


@contextlib.contextmanager
def _locked_attempt(
    context: ServiceContext, request_id: str, attempt: int, *, related: bool = True
) -> Iterator[tuple[Session, Request | None]]:
    with context.sessions.begin() as session:
        request = lock_request(session, request_id, related=related)
        if request is not None and (
            request.assemble_attempt != attempt or request.state != RequestState.ASSEMBLING.value
        ):
            request = None
        yield session, request


def _collect_again(context: ServiceContext, request_id: str, attempt: int,
                   source_id: str) -> None:
    """Back to collecting, for the one source whose staged data is gone."""
    now = datetime.now(UTC)
    task = None
    with _locked_attempt(context, request_id, attempt) as (session, request):
        if request is None:
            return
        task = next(t for t in request.tasks if t.source_id == source_id)
        log.warning("assemble %s: the staged data of source %s is missing; collecting "
                    "it again", request_id, source_id)
        request.assemble_lease_until = None
        transition(session, request, RequestState.COLLECTING, SYSTEM_ACTOR, now=now,
                   detail={"recollect": source_id, "reason": "staged data missing"})
        task.state, task.enqueued_at, task.lease_until = TaskState.PENDING.value, now, None
        task.stage_attempt = None
    enqueue_collect(context, task)


def _fail(context: ServiceContext, request_id: str, attempt: int, reason: str) -> None:
    with _locked_attempt(context, request_id, attempt) as (session, request):
        if request is not None:
            request.last_error = reason
            transition(session, request, RequestState.FAILED, SYSTEM_ACTOR,
                       now=datetime.now(UTC), detail={"reason": reason})


_INSERT_PACKAGE = table_of(Package).insert()
_REQUESTS = table_of(Request)
_RELEASE = (update(_REQUESTS).where(_REQUESTS.c.id == bindparam("request_id"))
            .values(assemble_lease_until=None))


def _finish(
    context: ServiceContext,
    request_id: str,
    attempt: int,
    package_id: str,
    key: str,
    counted: HashingWriter,
    plain_size: int,
    keyring: Keyring,
    *,
    complete: bool,
) -> None:
    now = datetime.now(UTC)
    old_key: str | None = None
    with _locked_attempt(context, request_id, attempt, related=False) as (session, request):
        if request is None:
            log.warning("assemble %s attempt %d finished after losing its lease",
                        request_id, attempt)
            return
        if request.package is not None:  # a rebuild after a retried source
            if request.package.blob_key != key:
                old_key = request.package.blob_key
            session.delete(request.package)
            session.flush()
        package = {
            "id": package_id, "request_id": request.id, "blob_key": key,
            "size": counted.size, "sha256": counted.hexdigest(), "plain_size": plain_size,
            "vault_recipient": str(keyring.current_recipient),
            "signing_key_id": keyring.public_key.key_id, "complete": complete,
            "created_at": now, "deleted_at": None,
            "expires_at": now + timedelta(days=context.settings.package_retention_days),
        }
        session.execute(_INSERT_PACKAGE, package)
        session.execute(_RELEASE, {"request_id": request.id})
        set_committed_value(request, "assemble_lease_until", None)
        wanted = RequestState.READY if complete else RequestState.READY_WITH_GAPS
        transition(session, request, wanted, SYSTEM_ACTOR, now=now, detail={
            "package": package_id, "size": counted.size, "sha256": package["sha256"],
            "generation": request.generation,
        })
    if old_key is not None:
        with contextlib.suppress(EgneDataError):
            context.blobs.delete(old_key)
