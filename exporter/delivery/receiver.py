"""The reference receiver (``egnedata receive``): what an external service runs, or
copies, to accept packages pushed to its webhook. See docs/receiving.md.

For each POST it checks the Standard Webhooks headers and the timestamp window, reads
the body once into a temporary file while checking its Content-Digest and its Ed25519
signature (:mod:`formats.webhooks`), refuses a webhook id it has already accepted from
being processed again (a small SQLite table, :class:`ReplayStore`), decrypts the age
file with the service's identity and verifies the package's signature and every
file's hash (:func:`formats.verify.verify_package`) against the municipality's
published key. Only then is ``<id>.zip.age`` (and the decrypted ``<id>.zip``) kept.
A JSON body (``Content-Type: application/json``) is a correction notice (GDPR Art. 19:
a record the service received was corrected), checked the same way and kept as
``<id>.correction.json``.

Answers: 200 received (or already received: the sender stops retrying), 400 malformed,
401 bad signature, digest or timestamp, 411 no length, 413 too large, 422 a package
that does not decrypt or verify. Plain :mod:`http.server`; no framework needed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, cast

import orjson

from formats import age, webhooks
from formats.errors import AgeError, FormatError
from formats.minisign import PublicKey
from formats.verify import verify_package

__all__ = ["Answer", "Receiver", "ReplayStore", "make_server"]

_PIECE = 256 * 1024


class ReplayStore:
    """The webhook ids already accepted, in SQLite (safe across threads and restarts)."""

    def __init__(self, path: Path, *, keep_seconds: float = 30 * 86_400) -> None:
        self.path, self.keep_seconds = path, keep_seconds
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS accepted (id TEXT PRIMARY KEY, at REAL)")

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        return contextlib.closing(sqlite3.connect(self.path, timeout=30, isolation_level=None))

    def seen(self, msg_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM accepted WHERE id = ?", (msg_id,)).fetchone() \
                is not None

    def claim(self, msg_id: str) -> bool:
        """Remember ``msg_id``; False if it was already there."""
        now = time.time()
        with self._connect() as db:
            db.execute("DELETE FROM accepted WHERE at < ?", (now - self.keep_seconds,))
            cursor = db.execute("INSERT OR IGNORE INTO accepted (id, at) VALUES (?, ?)",
                                (msg_id, now))
            return cursor.rowcount == 1

    def forget(self, msg_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM accepted WHERE id = ?", (msg_id,))


NOTICE_TYPE = "egnedata.record.corrected"
"""A correction notice (GDPR Art. 19): a record the service received was corrected."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    read_body: bool = True
    """False when it was answered before the body was read (the connection must close)."""


class Receiver:
    """The checks, independent of the HTTP server that feeds them."""

    def __init__(
        self,
        identities: Sequence[age.Identity],
        public_keys: Sequence[PublicKey],
        directory: Path,
        *,
        tolerance: int = webhooks.DEFAULT_TOLERANCE,
        max_bytes: int = 4 * 1024**3,
        decrypt: bool = True,
    ) -> None:
        self.identities, self.public_keys = list(identities), list(public_keys)
        self.directory, self.tolerance, self.max_bytes = directory, tolerance, max_bytes
        self.decrypt = decrypt
        directory.mkdir(parents=True, exist_ok=True)
        self.replays = ReplayStore(directory / "received.sqlite3")

    def handle(self, headers: Mapping[str, str], body: IO[bytes], length: int | None) -> Answer:
        if length is None:
            return Answer(411, {"error": "a Content-Length is required"}, False)
        if length > self.max_bytes:
            return Answer(413, {"error": f"larger than {self.max_bytes} bytes"}, False)
        try:
            verifier = webhooks.WebhookVerifier(
                headers, [k.key for k in self.public_keys], now=time.time(),
                tolerance=self.tolerance)
        except webhooks.StaleTimestamp as exc:
            return Answer(401, {"error": str(exc)}, False)
        except webhooks.WebhookError as exc:
            return Answer(400, {"error": str(exc)}, False)
        msg_id = verifier.msg_id
        if self.replays.seen(msg_id):
            return Answer(200, {"status": "already-received", "id": msg_id}, False)
        partial = self.directory / f".{msg_id}.{os.getpid()}.{time.monotonic_ns()}.partial"
        try:
            with partial.open("wb") as out:
                remaining = length
                while remaining:
                    piece = body.read(min(_PIECE, remaining))
                    if not piece:
                        return Answer(400, {"error": "the body ended early"}, False)
                    verifier.update(piece)
                    out.write(piece)
                    remaining -= len(piece)
            try:
                digest = verifier.finish()
            except webhooks.WebhookError as exc:
                return Answer(401, {"error": str(exc)})
            if not self.replays.claim(msg_id):
                return Answer(200, {"status": "already-received", "id": msg_id})
            notice = headers.get("content-type", "").startswith("application/json")
            problem = self._notice(partial) if notice else self._open(partial, msg_id)
            if problem is not None:
                self.replays.forget(msg_id)
                return Answer(422, {"error": problem})
            name = f"{msg_id}.correction.json" if notice else f"{msg_id}.zip.age"
            partial.replace(self.directory / name)
        finally:
            partial.unlink(missing_ok=True)
        return Answer(200, {"status": "received", "id": msg_id, "sha256": digest.hex()})

    @staticmethod
    def _notice(path: Path) -> str | None:
        """A correction notice (JSON, signed like a push); None when it is one."""
        try:
            notice = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            return "a JSON body that is not JSON"
        if not isinstance(notice, dict) or notice.get("type") != NOTICE_TYPE \
                or not isinstance(notice.get("record"), str):
            return f"a JSON body that is not an {NOTICE_TYPE} notice"
        return None

    def _open(self, encrypted: Path, msg_id: str) -> str | None:
        """Decrypt and verify the package; None when it is good."""
        if not self.decrypt:
            return None
        target = self.directory / f"{msg_id}.zip"
        try:
            with encrypted.open("rb") as src, target.open("wb") as dst:
                age.decrypt(src, dst, self.identities)
        except (AgeError, FormatError, ValueError) as exc:
            target.unlink(missing_ok=True)
            return f"the package does not decrypt with this service's key: {exc}"
        reports = [verify_package(target, key) for key in self.public_keys]
        if not any(r.ok for r in reports):
            target.unlink(missing_ok=True)
            return "the package does not verify: " + "; ".join(reports[0].problems[:5])
        return None


def make_server(receiver: Receiver, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "egnedata-receive/1"

        def do_POST(self) -> None:
            raw_length = self.headers.get("content-length")
            length = int(raw_length) if raw_length and raw_length.isdigit() else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = receiver.handle(headers, cast(IO[bytes], self.rfile), length)
            if not answer.read_body:
                self.close_connection = True
            body = orjson.dumps(answer.body)
            self.send_response(answer.status, HTTPStatus(answer.status).phrase)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the ids are in the answers; nothing personal is logged

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
