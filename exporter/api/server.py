"""Running the HTTP API: uvicorn, in one process or several.

Several processes (``egnedata serve --workers N``): :func:`run_processes` listens on the
port itself and hands each new connection to the next of N server processes in turn,
as a file descriptor over a Unix socket. (Left to the kernel, connections are not
spread evenly: on one shared listening socket the first process to wake accepts every
connection waiting, and with a socket per process and ``SO_REUSEPORT`` a hash of the
addresses decides, which put 11 of 16 kept-alive connections on one of two processes
about as often as 8. The busier process then answered twice as slowly while the other
idled.) The parent also restarts a process that dies and passes SIGTERM and SIGINT on,
so each stops gracefully; a process whose parent is gone finishes and stops.

Every connection gets ``TCP_NODELAY`` (:class:`NoDelayHttpToolsProtocol`). asyncio sets it
only for sockets whose protocol is TCP by number, and a socket made as
``socket.socket(family)`` has protocol number 0: on such a listener an answer written
as headers and then body waited for the client's delayed ACK, about 40 ms per request
on a kept-alive connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HTTP_PROTOCOL", "NoDelayHttpToolsProtocol", "hand_over", "no_delay", "run_processes"]

log = logging.getLogger(__name__)

APP_FACTORY = "exporter.api.app:app_from_settings"
_RESTART_PAUSE = 1.0  # seconds between restarts of a process that keeps dying
READY = b"ready"
_START_PATIENCE = 30.0  # seconds to wait for every process before listening with fewer

HTTP_PROTOCOL = "exporter.api.server:NoDelayHttpToolsProtocol"
"""For ``uvicorn.run(http=...)``: an import string, so worker processes find it too."""


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once on a TCP connection (``TCP_NODELAY``)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with ``TCP_NODELAY`` on each connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class _HandedOver(uvicorn.Server):
    """uvicorn serving the connections its parent hands over on ``channel`` (one file
    descriptor per message) instead of accepting its own."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self._channel = channel
        self._connecting: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's lifespan; no listening socket
        config, loop = self.config, asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state,
                app_state=self.lifespan.state, _loop=loop)
            return made

        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._take, loop, protocol)
        self._channel.send(READY)  # the parent hands us connections from now on

    def _take(self, loop: asyncio.AbstractEventLoop,
              protocol: Callable[[], asyncio.Protocol]) -> None:
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(self._channel, 1, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the parent is gone: finish what is open
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(self._connect(loop, protocol, socket.socket(fileno=fd)))
                self._connecting.add(task)
                task.add_done_callback(self._connecting.discard)

    @staticmethod
    async def _connect(loop: asyncio.AbstractEventLoop,
                       protocol: Callable[[], asyncio.Protocol], sock: socket.socket) -> None:
        try:
            await loop.connect_accepted_socket(protocol, sock)
        except OSError:  # the client left before we got to it
            sock.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._channel.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self._channel.fileno())
            self._channel.close()  # the parent hands new connections to the others
        await super().shutdown(sockets)


def _serve_one(channel: socket.socket, log_level: str) -> None:
    """One server process: uvicorn on the connections the parent hands over."""
    os.setpgrp()  # a terminal's Ctrl-C reaches the parent alone, which stops us once
    config = uvicorn.Config(APP_FACTORY, factory=True, log_level=log_level,
                            access_log=False, http=HTTP_PROTOCOL)
    _HandedOver(config, channel).run()


def hand_over(listener: socket.socket, channels: Sequence[socket.socket], turn: int) -> int:
    """Accept every connection waiting on ``listener`` and pass each to the next of
    ``channels`` in turn, skipping one that cannot take it (its process died, or is
    stuck with a full queue); returns the next turn. A connection no process can take
    is closed, which the client sees at once."""
    while True:
        try:
            connection, _address = listener.accept()
        except (BlockingIOError, InterruptedError):
            return turn
        except OSError as exc:  # out of file descriptors, say: try again later
            log.error("cannot accept a connection: %s", exc)
            return turn
        with connection:
            for _ in range(len(channels)):
                channel = channels[turn % len(channels)]
                turn += 1
                try:
                    socket.send_fds(channel, [b"c"], [connection.fileno()])
                    break
                except OSError:
                    continue
            else:
                log.error("no server process could take a connection; closed it")


@dataclass
class _Process:
    process: multiprocessing.process.BaseProcess
    channel: socket.socket
    ready: bool = False


def run_processes(workers: int, host: str, port: int, log_level: str) -> None:
    """Run ``workers`` server processes behind ``port`` until SIGTERM or SIGINT.

    The port is bound at once (a port in use fails here) but listened on only once
    every process is ready (or, after 30 seconds, one is), so the first connections
    are spread too and clients wait for a server that can answer rather than in a
    queue; a process restarted later gets connections from when it says it is ready.
    """
    if port == 0:
        raise ValueError("several server processes need a fixed port, not 0")
    if not hasattr(socket, "send_fds") or not hasattr(socket, "SOCK_SEQPACKET"):
        raise ValueError("several server processes need Unix sockets that pass file "
                         "descriptors (Linux)")
    listener = _bind(host, port)
    listener.setblocking(False)
    spawn = multiprocessing.get_context("spawn")
    stopping = False
    listening = False

    def start() -> _Process:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = spawn.Process(target=_serve_one, args=(theirs, log_level),
                                name="egnedata-serve")
        process.start()
        theirs.close()
        ours.setblocking(False)
        selector.register(ours, selectors.EVENT_READ)
        return _Process(process, ours)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    selector = selectors.DefaultSelector()
    processes = [start() for _ in range(workers)]
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    turn = 0
    patience = time.monotonic() + _START_PATIENCE
    try:
        while not stopping:
            for key, _events in selector.select(timeout=0.2):
                if key.fileobj is listener:
                    turn = hand_over(listener, [p.channel for p in processes if p.ready], turn)
                    continue
                served = next(p for p in processes if p.channel is key.fileobj)
                try:
                    served.ready = served.channel.recv(16) == READY
                except OSError:
                    served.ready = False
                if not served.ready:  # it is ending: watch it no more
                    selector.unregister(served.channel)
            if not listening and (all(p.ready for p in processes) or (
                    any(p.ready for p in processes) and time.monotonic() > patience)):
                listener.listen(2048)
                selector.register(listener, selectors.EVENT_READ)
                listening = True
            for i, served in enumerate(processes):
                if not served.process.is_alive() and not stopping:
                    log.error("server process %s ended (exit code %s); starting another",
                              served.process.pid, served.process.exitcode)
                    with contextlib.suppress(KeyError, ValueError):
                        selector.unregister(served.channel)
                    served.channel.close()
                    time.sleep(_RESTART_PAUSE)
                    processes[i] = start()
    finally:
        selector.close()
        listener.close()
        for served in processes:
            if served.process.pid is not None and served.process.is_alive():
                served.process.terminate()  # SIGTERM: uvicorn finishes what it is answering
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for served in processes:
            served.process.join(timeout=30)
            if served.process.is_alive():
                served.process.kill()
            served.channel.close()
