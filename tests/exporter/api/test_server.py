"""Connections get TCP_NODELAY even on a listening socket made as uvicorn's process
manager makes it (protocol number 0), where asyncio leaves Nagle's algorithm on."""

from __future__ import annotations

import asyncio
import socket

from exporter.api.server import no_delay


def _nodelay_on_accepted(*, ours: bool) -> int:
    async def run() -> int:
        listening = socket.socket(socket.AF_INET)  # proto 0, as uvicorn binds it
        listening.bind(("127.0.0.1", 0))
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if ours:
                    no_delay(transport)
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        async with server:
            _reader, writer = await asyncio.open_connection(*listening.getsockname())
            value = await asyncio.wait_for(seen, 5)
            writer.close()
        return value

    return asyncio.run(run())


def test_asyncio_alone_leaves_nagle_on_for_such_a_socket() -> None:
    assert _nodelay_on_accepted(ours=False) == 0  # the reason for no_delay


def test_no_delay_turns_it_off() -> None:
    assert _nodelay_on_accepted(ours=True) != 0
