"""New requests from many HTTP callers, stored a few at a time (group commit).

A server process answers many callers at once. Storing each request in its own
transaction, on its own thread, costs a commit, a Redis round trip and a thread that
competes for the interpreter with the others for every request: under load that
contention cost more CPU than the work. :class:`Intake` instead hands requests to one
thread, which stores whatever has arrived since its last transaction in one
transaction and queues their jobs in one round trip. A caller is answered only after
its request is committed, as before; when requests arrive one at a time, each is
stored on its own at once, so nothing waits for a batch to fill.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future

from exporter.db.models import Request
from exporter.service.context import ServiceContext
from exporter.service.requests import NewRequest, create_requests

__all__ = ["Intake"]

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Requests stored in one transaction at most."""

_Item = tuple[NewRequest, "Future[tuple[Request, bool]]"]


class Intake:
    """Creates requests (as :func:`~exporter.service.requests.create_request` does) on
    one thread of its own, several per transaction when several are waiting."""

    def __init__(self, context: ServiceContext, *, max_batch: int = MAX_BATCH) -> None:
        self._context = context
        self._max_batch = max_batch
        self._waiting: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def create(self, new: NewRequest) -> tuple[Request, bool]:
        """Store ``new`` (made by :func:`~exporter.service.requests.new_request`): the
        request and True, or the earlier one for the same key and False. Raises what
        :func:`~exporter.service.requests.create_request` raises."""
        return await asyncio.wrap_future(self.submit(new))

    def submit(self, new: NewRequest) -> Future[tuple[Request, bool]]:
        """Queue ``new`` for storing; its future ends as :meth:`create` does. A caller
        that cancels the future before its turn comes is not stored."""
        future: Future[tuple[Request, bool]] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the intake is closed")
            self._waiting.put((new, future))
            if self._thread is None:
                self._start()
        return future

    def _start(self) -> None:
        """Start the thread (the lock held)."""
        thread = threading.Thread(target=self._run, name="egnedata-intake", daemon=True)
        thread.start()
        self._thread = thread

    def close(self, timeout: float = 30.0) -> None:
        """Store what is waiting, then stop the thread (waiting ``timeout`` at most)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._waiting.put(None)
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the intake thread is still storing requests after %.0f s",
                            timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            # A caller who has given up (a cancelled future) is not stored.
            batch = [(new, f) for new, f in batch if f.set_running_or_notify_cancel()]
            try:
                self._store(batch)
            except BaseException as exc:  # no caller is left waiting forever
                with self._lock:
                    self._thread = None
                    if not self._waiting.empty():
                        self._start()  # for those queued meanwhile
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                raise

    def _store(self, batch: list[_Item]) -> None:
        if not batch:
            return
        try:
            outcomes = create_requests(self._context, [new for new, _ in batch])
        except Exception as exc:
            log.exception("storing %d new requests failed", len(batch))
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
