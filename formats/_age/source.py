"""A small read buffer over the input, shared by the header and payload readers.

The header is read line by line and the payload in whole chunks; both come from one
buffer so nothing is read twice, and ``rewrap`` can hand the rest of the input on
exactly where the header ended.
"""

from __future__ import annotations

from typing import Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# A ``readinto`` is used too when ``raw`` has one (files, BytesIO): it reads the
# payload straight into the decryption buffer.


class Source:
    """Buffered reads from ``raw``: lines for the header, exact sizes for the payload."""

    def __init__(self, raw: Readable, prefix: bytes = b"") -> None:
        self.raw = raw
        self._buf = prefix
        self._pos = 0
        self._eof = False
        self._read_from_raw = len(prefix)

    @property
    def position(self) -> int:
        """How many bytes of the input (prefix included) were consumed."""
        return self._read_from_raw - self._available()

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _fill(self, wanted: int) -> bool:
        """Read more from ``raw``; False at the end of the input."""
        if self._eof:
            return False
        # Exactly what is missing when that is a lot, so payload chunks stay aligned
        # with the reads and are never copied twice; a little more for header lines.
        data = self.raw.read(max(wanted, 8192))
        if not data:
            self._eof = True
            return False
        self._read_from_raw += len(data)
        self._buf = self._buf[self._pos :] + data if self._available() else data
        self._pos = 0
        return True

    def readline(self, limit: int) -> bytes:
        """Up to and including the next LF, but at most ``limit`` bytes."""
        while True:
            end = self._buf.find(b"\n", self._pos, self._pos + limit)
            if end >= 0:
                line = self._buf[self._pos : end + 1]
                self._pos = end + 1
                return line
            if self._available() >= limit or not self._fill(limit - self._available()):
                line = self._buf[self._pos : self._pos + limit]
                self._pos += len(line)
                return line

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer only at the end of the input."""
        while self._available() < size and self._fill(size - self._available()):
            pass
        if self._pos == 0 and len(self._buf) == size:
            data, self._buf = self._buf, b""  # the common case: no copy at all
            return data
        data = self._buf[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes ahead, without consuming them."""
        while self._available() < size and self._fill(size - self._available()):
            pass
        return self._buf[self._pos : self._pos + size]

    def readinto(self, view: memoryview) -> int:
        """Fill some of ``view``: first from the buffer, then straight from ``raw``."""
        if self._available():
            n = min(len(view), self._available())
            view[:n] = memoryview(self._buf)[self._pos : self._pos + n]
            self._pos += n
            return n
        if self._eof:
            return 0
        readinto = getattr(self.raw, "readinto", None)
        if readinto is not None:
            got = readinto(view) or 0
        else:
            data = self.raw.read(len(view))
            got = len(data)
            view[:got] = data
        self._read_from_raw += got
        self._eof = not got
        return got

    def take_buffer(self) -> bytes:
        """What was read ahead and not consumed; the rest is still in ``raw``."""
        data = self._buf[self._pos :]
        self._buf, self._pos = b"", 0
        return data
