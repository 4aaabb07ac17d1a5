"""Running the HTTP API: uvicorn, in one process or several.

Several processes (``egnedata serve --workers N``): :func:`run_processes` starts N
processes that each listen on a socket of their own, all bound to the same port with
``SO_REUSEPORT``, so the kernel spreads new connections across them. (With one shared
listening socket, as uvicorn's own process manager has it, the first process to wake
accepts every connection waiting, and a burst of kept-alive connections could all land
on one process while the others idle.) The parent only watches: it restarts a process
that dies and passes SIGTERM and SIGINT on, so each stops gracefully.

Every connection gets ``TCP_NODELAY`` (:class:`NoDelayH11Protocol`). asyncio sets it
only for sockets whose protocol is TCP by number, and a socket made as
``socket.socket(family)`` has protocol number 0: on such a listener an answer written
as headers and then body waited for the client's delayed ACK, about 40 ms per request
on a kept-alive connection.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from types import FrameType

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HTTP_PROTOCOL", "NoDelayH11Protocol", "no_delay", "run_processes"]

log = logging.getLogger(__name__)

APP_FACTORY = "exporter.api.app:app_from_settings"
_RESTART_PAUSE = 1.0  # seconds between restarts of a process that keeps dying

HTTP_PROTOCOL = "exporter.api.server:NoDelayH11Protocol"
"""For ``uvicorn.run(http=...)``: an import string, so worker processes find it too."""


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once on a TCP connection (``TCP_NODELAY``)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with ``TCP_NODELAY`` on each connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket of this process's own on a port others share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _serve_one(host: str, port: int, log_level: str) -> None:
    """One server process: its own socket first (connections queue there while the
    app loads), then uvicorn on it."""
    import os

    import uvicorn

    os.setpgrp()  # a terminal's Ctrl-C reaches the parent alone, which stops us once
    sock = _listen(host, port)
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port,
                            log_level=log_level, access_log=False, http=HTTP_PROTOCOL)
    uvicorn.Server(config).run(sockets=[sock])


def run_processes(workers: int, host: str, port: int, log_level: str) -> None:
    """Run ``workers`` server processes sharing ``port`` until SIGTERM or SIGINT."""
    if port == 0:
        raise ValueError("several server processes need a fixed port, not 0")
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("several server processes need SO_REUSEPORT (Linux, BSD, macOS)")
    _listen(host, port).close()  # fail here, not in every child, if the port is taken
    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = spawn.Process(target=_serve_one, args=(host, port, log_level),
                                name="egnedata-serve")
        process.start()
        return process

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes what it is answering

    processes = [start() for _ in range(workers)]
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.error("server process %s ended (exit code %s); starting another",
                              process.pid, process.exitcode)
                    time.sleep(_RESTART_PAUSE)
                    processes[i] = start()
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
