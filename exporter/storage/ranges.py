"""Byte ranges of a blob, with HTTP's semantics (RFC 9110 section 14.1.2).

``open_reader(key, start, end)`` reads ``[start, end)``, as a Python slice would:

- ``start >= 0``: from ``start`` up to ``end`` (exclusive; None is the end of the
  blob). An ``end`` past the end of the blob is cut to it. A ``start`` at or past
  the end raises :class:`~exporter.errors.RangeNotSatisfiableError` (HTTP 416),
  except for the whole blob (``start=0, end=None``), which is always readable, even
  when empty.
- ``start < 0``: the last ``-start`` bytes (HTTP's suffix range ``bytes=-N``), or the
  whole blob if it is shorter; ``end`` must then be None.

``end <= start`` (for ``start >= 0``) is a caller's mistake: ``ValueError``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from exporter.errors import RangeNotSatisfiableError, RetryableStorageError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["READ_BUFFER", "RangeReader", "buffered", "check_range", "http_range", "span"]

READ_BUFFER = 256 * 1024


def check_range(start: int, end: int | None) -> None:
    if start < 0 and end is not None:
        raise ValueError("a suffix range (negative start) takes no end")
    if end is not None and end <= start:
        raise ValueError(f"empty or reversed range: start {start}, end {end}")


def http_range(start: int, end: int | None) -> str | None:
    """The HTTP ``Range`` header for the range, or None for the whole blob."""
    check_range(start, end)
    if start < 0:
        return f"bytes={start}"
    if end is None:
        return None if start == 0 else f"bytes={start}-"
    return f"bytes={start}-{end - 1}"


def span(start: int, end: int | None, size: int, key: str) -> tuple[int, int]:
    """Offset and length of the range in a blob of ``size`` bytes."""
    check_range(start, end)
    if start < 0:
        first = max(0, size + start)
        return first, size - first
    if start == 0 and end is None:
        return 0, size
    if start >= size:
        raise RangeNotSatisfiableError(
            f"range starting at {start} of blob {key!r} ({size} bytes) is not satisfiable"
        )
    last = size if end is None else min(end, size)
    return start, last - start


class RangeReader(io.RawIOBase):
    """A readable stream of ``length`` bytes from ``read``; ``on_close`` when closed.

    A source that ends early is an error, never a short blob passed off as whole.
    """

    def __init__(
        self, read: Callable[[int], bytes], length: int, on_close: Callable[[], None], key: str
    ) -> None:
        self._read = read
        self._remaining = length
        self._on_close = on_close
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._remaining)
        if wanted == 0:
            return 0
        data = self._read(wanted)
        if not data:
            raise RetryableStorageError(
                f"blob {self._key!r} ended {self._remaining} bytes early"
            )
        view[: len(data)] = data
        self._remaining -= len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._on_close()
            finally:
                super().close()


def buffered(reader: RangeReader) -> io.BufferedReader:
    return io.BufferedReader(reader, READ_BUFFER)
