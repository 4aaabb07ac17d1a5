"""ASCII armor (spec: "ASCII armor"): strict PEM (RFC 7468) with the label
``AGE ENCRYPTED FILE``.

Because armor would otherwise make files malleable, the reader is strict: 64-column
lines of padded, canonical base64 (only the last may be shorter), no blank lines or
PEM headers, nothing but whitespace before ``BEGIN`` and after ``END``. LF and CRLF
line endings are both accepted.
"""

from __future__ import annotations

import binascii
from typing import Protocol

from formats._age.source import Source
from formats.errors import ArmorError

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_WHITESPACE = b" \t\r\n"
_MAX_BEGIN_LINE = 256
_LINES_PER_READ = 1024  # decode ~48 KiB of payload per call


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line


class ArmorReader:
    """The bytes inside the armor; ``src`` is positioned after the BEGIN line."""

    def __init__(self, src: Source) -> None:
        self._src = src
        self._short_line_seen = False
        self._finished = False
        self._pending = b""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decoded bytes (some, not all); b"" after the END line."""
        if not self._pending:
            self._pending = self._decode_lines()
        if 0 <= size < len(self._pending):
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        data, self._pending = self._pending, b""
        return data

    def _decode_lines(self) -> bytes:
        if self._finished:
            return b""
        lines: list[bytes] = []
        for _ in range(_LINES_PER_READ):
            raw = self._src.readline(_COLUMNS + 3)
            line = _strip_eol(raw)
            if line.rstrip(b" \t\r") == END:
                self._end()
                break
            if raw == line:  # no line ending: too long, or the input just stops
                if len(raw) > _COLUMNS:
                    raise ArmorError(f"an armored line is longer than {_COLUMNS} columns")
                raise ArmorError("the armored file is truncated (no END line)")
            if self._short_line_seen:
                raise ArmorError("only the last armored line may be shorter than 64 columns")
            if not line or len(line) > _COLUMNS or len(line) % 4:
                raise ArmorError("armored lines must hold 64 columns of base64")
            if len(line) < _COLUMNS:
                self._short_line_seen = True
            lines.append(line)
        return self._decode(lines)

    def _end(self) -> None:
        self._finished = True
        # Only whitespace may follow; read it in blocks so memory stays bounded.
        while block := self._src.read(64 * 1024):
            if block.strip(_WHITESPACE):
                raise ArmorError("data after the armored file")

    def _decode(self, lines: list[bytes]) -> bytes:
        if not lines:
            return b""
        last = lines[-1]
        if b"=" in b"".join(lines[:-1]) or b"=" in last.rstrip(b"="):
            raise ArmorError("base64 padding in the middle of armored data")
        try:
            data = binascii.a2b_base64(b"".join(lines), strict_mode=True)
        except binascii.Error:
            raise ArmorError("armored data is not valid base64") from None
        # Padding bits must be zero: re-encode the last line and compare.
        tail = binascii.b2a_base64(data[-(len(last) // 4 * 3 - last.count(b"=")) :], newline=False)
        if tail != last:
            raise ArmorError("armored base64 is not canonical")
        return data


def open_armor(src: Source) -> ArmorReader:
    """Check the BEGIN line (after optional whitespace) and return the decoder."""
    line = src.readline(_MAX_BEGIN_LINE)
    while line and not line.strip(_WHITESPACE):  # blank lines before BEGIN
        line = src.readline(_MAX_BEGIN_LINE)
    line = line.lstrip(b" \t")
    if _strip_eol(line) != BEGIN or line == BEGIN:
        raise ArmorError("not an armored age file: expected -----BEGIN AGE ENCRYPTED FILE-----")
    return ArmorReader(src)


class ArmorWriter:
    """Base64 in 64-column lines between BEGIN and END; ``finish`` writes the END."""

    def __init__(self, sink: Writable) -> None:
        self._sink = sink
        self._pending = bytearray()
        sink.write(BEGIN + b"\n")

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        self._pending += data
        whole = len(self._pending) - len(self._pending) % 48  # 48 bytes = one full line
        if whole >= 48 * 256:
            self._emit(bytes(self._pending[:whole]))
            del self._pending[:whole]
        return len(data)

    def _emit(self, data: bytes) -> None:
        text = binascii.b2a_base64(data, newline=False)
        lines = [text[i : i + _COLUMNS] for i in range(0, len(text), _COLUMNS)]
        self._sink.write(b"\n".join(lines) + b"\n")

    def finish(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        self._sink.write(END + b"\n")
