"""The HTTP server's connection handling (uvicorn), tuned for small JSON answers.

``egnedata serve --workers N`` runs uvicorn's process manager, which binds the
listening socket itself (``socket.socket(family)``, protocol number 0). asyncio turns
Nagle's algorithm off only for sockets whose protocol is TCP by number, so connections
accepted on that socket kept it on: an answer written as headers and then body waited
for the client's delayed ACK, about 40 ms per request on a kept-alive connection.
:class:`NoDelayH11Protocol` turns it off for every connection, whoever made the socket.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HTTP_PROTOCOL", "NoDelayH11Protocol", "no_delay"]

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
