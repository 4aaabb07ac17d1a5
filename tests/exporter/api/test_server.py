"""Serving: TCP_NODELAY on every connection, even on a listening socket with protocol
number 0 (where asyncio leaves Nagle's algorithm on); several processes on one port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from exporter.api.server import no_delay
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


@pytest.mark.slow
def test_several_processes_share_the_port_restart_and_stop(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGNEDATA_")}
    env["EGNEDATA_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
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
