"""Periodic work every server and worker process does beside its main job.

- Reconciling (every ``reconcile_interval_seconds``): re-queue what the database says
  is unfinished but has no live job; expire packages; forget ended login sessions,
  unfinished logins and cached overviews.
- Sealing the audit log (every ``audit_seal_interval_seconds``): chain the events
  written since the last seal.
- With a local blob store, hourly: delete temporary files that killed writes left
  behind, once a day old.

Each runs on a daemon thread and logs, never raises, when a round fails: the next round
tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from exporter.service.audit import seal_all
from exporter.service.context import ServiceContext
from exporter.service.reconcile import reconcile
from exporter.storage import LocalBlobStore

__all__ = ["Background"]

log = logging.getLogger(__name__)

_SWEEP_INTERVAL = 3600.0


class Background:
    """The periodic threads of one process; ``stop()`` ends them."""

    def __init__(self, context: ServiceContext) -> None:
        self._stop = threading.Event()
        settings = context.settings
        self._threads = [
            self._every("egnedata-reconciler", settings.reconcile_interval_seconds,
                        lambda: reconcile(context), "reconciling"),
            self._every("egnedata-audit-sealer", settings.audit_seal_interval_seconds,
                        lambda: seal_all(context.sessions.begin), "sealing the audit log"),
        ]
        if isinstance(context.blobs, LocalBlobStore):
            self._threads.append(self._every(
                "egnedata-blob-sweeper", _SWEEP_INTERVAL, context.blobs.remove_abandoned,
                "removing abandoned temporary files",
                # It walks the whole store: not at every start of every process.
                first_after=_SWEEP_INTERVAL))

    def _every(self, name: str, interval: float, work: Callable[[], object],
               what: str, *, first_after: float = 0.0) -> threading.Thread:
        def loop() -> None:
            if self._stop.wait(first_after):
                return
            while True:
                try:
                    work()
                except Exception:
                    log.exception("%s failed; trying again in %.0f s", what, interval)
                if self._stop.wait(interval):
                    return
        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        return thread

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
