"""Everything a job or a request handler needs, built once per process from settings.

A forked or spawned worker builds its own (database connections are never shared
across processes). ``egnedata serve`` builds one and, with no Redis configured, runs
the jobs on its own in-process queue with the same context.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from exporter.db import make_engine, make_sessionmaker, upgrade
from exporter.keys import Keyring
from exporter.profile import Profile, demo_profile_path, load_profile
from exporter.service.queue import InProcessQueue, JobQueue, RqQueue, job_function
from exporter.settings import Settings, get_settings
from exporter.storage import BlobStore, blob_store_from_url

if TYPE_CHECKING:
    from exporter.service.intake import Intake

__all__ = ["ServiceContext", "freeze_startup_objects", "get_context", "set_context"]

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 10.0
"""Seconds a Redis command may take before it fails, rather than hold up the caller for
good (a worker lengthens it for its blocking wait for jobs)."""


@dataclass
class ServiceContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    profile: Profile
    blobs: BlobStore
    queue: JobQueue = field(init=False)
    _keyring: Keyring | None = field(default=None, init=False)
    _intake: Intake | None = field(default=None, init=False)

    @classmethod
    def build(
        cls, settings: Settings, *, migrate: bool = True, profile: Profile | None = None
    ) -> ServiceContext:
        """``profile`` overrides the settings' profile file (for tests and tools)."""
        engine = make_engine(settings.effective_database_url)
        if migrate:
            upgrade(engine)
        profile = profile or load_profile(settings.profile or demo_profile_path())
        context = cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            profile=profile,
            blobs=blob_store_from_url(settings.effective_blob_url),
        )
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT,
                                   socket_connect_timeout=REDIS_TIMEOUT)
            context.queue = RqQueue(redis, settings.queue_name)
        else:
            context.queue = InProcessQueue(settings.inprocess_workers, context.run_job)
        return context

    @property
    def keyring(self) -> Keyring:
        """Loaded on first use and checked every time: no key, no package (fail closed)."""
        if self._keyring is None:
            self._keyring = Keyring.load(self.settings.effective_keys_dir)
        return self._keyring

    @property
    def intake(self) -> Intake:
        """Where the API creates requests (:mod:`exporter.service.intake`)."""
        if self._intake is None:
            from exporter.service.intake import Intake

            with _lock:
                if self._intake is None:
                    self._intake = Intake(self)
        return self._intake

    def warm_up(self) -> None:
        """Do now, before taking work, what the first requests or jobs would otherwise
        wait for: configuring the ORM's mappers, and opening the database pool's
        connections (the first also reads the server's settings). Without it, the
        first requests a fresh server takes are several times slower than the rest."""
        configure_mappers()
        size = getattr(self.engine.pool, "size", lambda: 1)()
        try:
            with contextlib.ExitStack() as opened:
                for _ in range(size):
                    opened.enter_context(self.engine.connect())
        except SQLAlchemyError as exc:  # not fatal: /readyz says so, and it is tried again
            log.warning("cannot reach the database yet (%s); connecting on first use",
                        type(exc).__name__)
        self.queue.ping()  # False (never raises) if Redis is not there yet

    def run_job(self, kind: str, args: tuple[str | int, ...]) -> None:
        function: Callable[..., Any] = job_function(kind)
        with _bound(self):
            function(*args)

    def close(self) -> None:
        if self._intake is not None:
            self._intake.close()
        if isinstance(self.queue, InProcessQueue):
            self.queue.shutdown()
        self.engine.dispose()


def freeze_startup_objects() -> None:
    """Put every object made so far (modules, compiled statements and templates, the
    warm-up's connections) out of the cyclic garbage collector's reach, for a process
    that has started and is about to take work.

    Python's full collections otherwise walk all of them, again and again, with every
    thread stopped: a server taking 450 requests/s stalled for about 110 ms every 3 s,
    which was most of its p99 latency. Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()


_local = threading.local()
_lock = threading.Lock()
_contexts: dict[int, ServiceContext] = {}


class _bound:
    """Makes ``get_context`` return ``context`` on this thread while in the block."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def __enter__(self) -> None:
        _local.context = self._context

    def __exit__(self, *exc: object) -> None:
        _local.context = None


def set_context(context: ServiceContext | None) -> None:
    """Use ``context`` for this process (a server or worker that built its own)."""
    with _lock:
        _contexts.clear()
        if context is not None:
            _contexts[os.getpid()] = context


def get_context() -> ServiceContext:
    bound: ServiceContext | None = getattr(_local, "context", None)
    if bound is not None:
        return bound
    with _lock:
        context = _contexts.get(os.getpid())
        if context is None:
            _contexts.clear()  # a forked child never uses its parent's connections
            context = _contexts[os.getpid()] = _build_default()
        return context


def _build_default() -> ServiceContext:
    return ServiceContext.build(get_settings(), migrate=False)
