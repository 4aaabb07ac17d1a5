"""A local case index over real HTTP, for the ``http`` connector's tests and benchmark.

It serves cases in the index's own field names (Danish), with every paging style the
connector knows, and misbehaves on purpose on some paths: slow pages, 429 then success,
500 forever, hostile records. It runs in a thread on a free loopback port, over HTTPS
when given a server-side TLS context.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["CPR_EMPTY", "CPR_MANY", "CaseIndex", "case_index", "raw_case"]

CPR_MANY = "0101901234"
CPR_EMPTY = "0202902345"
TOKEN = "index-token"
PASSWORD = "index-password"


def raw_case(i: int) -> dict[str, Any]:
    return {
        "sagsid": f"S{i:06d}",
        "sagsnr": i,
        "titel": f"Sag nummer {i}",
        "kle": "32.06.08",
        "status": str(1 + i % 2),
        "oprettet": f"{1 + i % 28:02d}-0{1 + i % 9}-2024",
        "enhed": "U01",
    }


HOSTILE: list[Any] = [
    raw_case(1),
    {**raw_case(2), "titel": "<script>alert('x')</script><b>sag</b>"},  # markup: escaped
    {**raw_case(3), "titel": "=HYPERLINK(\"http://x\")"},  # a formula: neutralised in CSV
    {**raw_case(4), "oprettet": "31-02-2024"},  # not a date
    {**raw_case(5), "titel": "x" * 200_000},  # enormous
    {k: v for k, v in raw_case(6).items() if k != "titel"},  # required field missing
    {**raw_case(7), "titel": {"nested": True}},  # wrong type
    "not an object",
    {**raw_case(8), "status": "7"},  # unknown code
    raw_case(9),
]


class CaseIndex:
    def __init__(self, count: int = 23) -> None:
        self.count = count
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.url = ""

    def cases(self, cpr: str) -> list[Any]:
        wanted = cpr.replace("-", "") == CPR_MANY
        return [raw_case(i) for i in range(1, self.count + 1)] if wanted else []

    def hit(self, key: str) -> int:
        with self.lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            return self.calls[key]


def _handler(index: CaseIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._route(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            self._route(json.loads(self.rfile.read(length)))

        def _route(self, body: Any) -> None:
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            auth = self.headers.get("authorization", "")
            if parts[0] == "bearer":
                if auth != f"Bearer {TOKEN}":
                    return self._send(401, {"error": "unauthorised"})
                parts = parts[1:]
            elif parts[0] == "basic":
                expected = base64.b64encode(f"egnedata:{PASSWORD}".encode()).decode()
                if auth != f"Basic {expected}":
                    return self._send(401, {"error": "unauthorised"})
                parts = parts[1:]
            style = parts[0]
            if style == "health":
                return self._send(200, {"ok": True})
            if style == "down":
                return self._send(500, {"error": "down"})
            if style == "notjson":
                return self._send(200, b"<html>proxy error</html>")
            if style == "busy":  # 429 with Retry-After the first time, then the data
                if index.hit("busy") == 1:
                    return self._send(429, {"error": "slow down"}, {"retry-after": "1"})
                return self._send(200, index.cases(parts[1]))
            if style == "slow":
                time.sleep(float(q.get("delay", "2")))
                return self._send(200, index.cases(parts[1]))
            if style == "hostile":
                return self._send(200, {"data": HOSTILE if parts[1] == CPR_MANY else []})
            if style == "missing":
                return self._send(404, {"error": "no such person"})
            if style == "search":  # POST {"borger": {"cpr": ...}}
                return self._send(200, {"data": index.cases(body["borger"]["cpr"])})
            cases = index.cases(q["cpr"] if "cpr" in q else parts[1])
            if style == "page":
                page, size = int(q["page"]), int(q["page_size"])
                return self._send(200, {"data": cases[(page - 1) * size: page * size]})
            if style == "offset":
                offset, limit = int(q["offset"]), int(q["limit"])
                return self._send(200, {"data": cases[offset: offset + limit]})
            if style == "cursor":
                start, size = int(q.get("cursor", "0")), int(q["page_size"])
                nxt = str(start + size) if start + size < len(cases) else None
                return self._send(200, {"data": cases[start: start + size],
                                        "meta": {"next": nxt}})
            if style in ("link", "offhost"):
                page, size = int(q.get("page", "1")), 5
                headers = {}
                if page * size < len(cases):
                    host = "http://elsewhere.invalid" if style == "offhost" else ""
                    headers["link"] = f'<{host}/{style}/{parts[1]}?page={page + 1}>; rel="next"'
                return self._send(200, cases[(page - 1) * size: page * size], headers)
            if style == "bulk":  # the benchmark: pages of generated cases
                offset, limit = int(q["offset"]), int(q["page_size"])
                total = int(q["total"])
                rows = [raw_case(i) for i in range(offset, min(total, offset + limit))]
                return self._send(200, {"data": rows})
            return self._send(404, {"error": "no route"})

    return Handler


@contextmanager
def case_index(count: int = 23, tls: ssl.SSLContext | None = None) -> Iterator[CaseIndex]:
    """The index on a free port; with ``tls`` (a server-side context) it speaks HTTPS."""
    index = CaseIndex(count)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(index))
    server.daemon_threads = True
    if tls is not None:
        # A failed handshake raises from accept(), which the server drops quietly.
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    index.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
