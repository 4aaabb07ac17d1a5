"""Serving: TCP_NODELAY on every connection, even on a listening socket with protocol
number 0 (where asyncio leaves Nagle's algorithm on); several processes on one port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import pytest

from exporter.api.server import hand_over, no_delay
from tests.servers import free_port, wait_for_port


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


def _children(parent: int) -> set[int]:
    """The server processes ``parent`` spawned (not multiprocessing's helper)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _serve(tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """``egnedata serve --workers 2`` on ``port``, logging to a file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGNEDATA_")}
    env["EGNEDATA_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    return server, log


@pytest.mark.slow
def test_several_processes_share_the_port_restart_and_stop(tmp_path: Path) -> None:
    port = free_port()
    server, log = _serve(tmp_path, port)
    try:
        wait_for_port(port, timeout=60)
        _until(lambda: len(_children(server.pid)) == 2, "two server processes")

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).is_success
            except httpx.HTTPError:
                return False
        _until(answers, "an answer")
        first = _children(server.pid)
        os.kill(min(first), signal.SIGKILL)  # one dies: another takes its place
        _until(lambda: len(_children(server.pid) - first) == 1
               and len(_children(server.pid)) == 2, "a new server process")
        assert all(answers() for _ in range(10))
        survivors = _children(server.pid)
        server.send_signal(signal.SIGINT)  # Ctrl-C: all stop, gracefully
        assert server.wait(timeout=60) == 0
        _until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in survivors),
               "the server processes to end", timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGNEDATA_")}
    env["EGNEDATA_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "serve", "--port", str(taken.getsockname()[1]),
         "--workers", "2"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    taken.close()
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "cannot listen on" in output and "Traceback" not in output


def _established(pid: int, port: int) -> int:
    """How many TCP connections to ``port`` the process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


@pytest.mark.slow
def test_connections_are_spread_evenly(tmp_path: Path) -> None:
    """Eight kept-alive connections to two processes: four each, not as a hash falls."""
    port = free_port()
    server, log = _serve(tmp_path, port)
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(8)]
    try:
        wait_for_port(port, timeout=60)
        for client in clients:
            assert client.get("/healthz").is_success
        processes = _children(server.pid)
        assert sorted(_established(pid, port) for pid in processes) == [4, 4]
    finally:
        for client in clients:
            client.close()
        server.send_signal(signal.SIGTERM)
        try:
            assert server.wait(timeout=60) == 0
        finally:
            if server.poll() is None:
                server.kill()
            log.close()


def test_hand_over_takes_turns_and_skips_a_process_that_cannot_take_one() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(3)]
    pairs[1][1].close()  # its process died
    clients = [socket.create_connection(listener.getsockname()) for _ in range(4)]
    try:
        time.sleep(0.2)
        turn = hand_over(listener, [ours for ours, _theirs in pairs], 0)
        received = []
        for index in (0, 2):
            theirs = pairs[index][1]
            theirs.setblocking(False)
            while True:
                try:
                    _message, fds, _flags, _address = socket.recv_fds(theirs, 1, 1)
                except BlockingIOError:
                    break
                received.append((index, len(fds)))
                for fd in fds:
                    os.close(fd)
        assert sorted(received) == [(0, 1), (0, 1), (2, 1), (2, 1)]
        assert turn == 6  # four taken, and two tries at the one that could not
    finally:
        for client in clients:
            client.close()
        for ours, theirs in pairs:
            ours.close()
            theirs.close()
        listener.close()
