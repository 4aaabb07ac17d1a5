"""Random access to the plaintext of a binary age file, for reading one member of a
large encrypted ZIP without decrypting what comes before it.

The payload's chunks have fixed sizes, so chunk ``i`` lies at a known offset and opens
on its own (its nonce is its counter, flagged if it is the last). Each chunk read is
authenticated before any of it is returned; the last one is known from the file's size
and authenticated when the file is opened, so a truncated file fails at once. Only the
chunk being read is held.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import BinaryIO, cast

from formats._age import header, stream
from formats._age.api import _input
from formats._age.primitives import CHUNK, SEALED_CHUNK, TAG, open_sealed
from formats._age.recipients import Identity
from formats.errors import AgeHeaderError, AgePayloadError

__all__ = ["open_random_access"]

ReadAt = Callable[[int, int], bytes]
"""``read_at(offset, length)``: ``length`` bytes of the encrypted file from ``offset``."""

_HEADER_PROBE = 64 * 1024


class _RandomAccessReader(io.RawIOBase):
    def __init__(self, read_at: ReadAt, payload_start: int, payload_size: int,
                 key: bytes) -> None:
        super().__init__()
        self._read_at = read_at
        self._start = payload_start
        self._key = key
        self._chunks = max(1, -(-payload_size // SEALED_CHUNK))
        self.size = payload_size - self._chunks * TAG
        if self.size < 0 or (payload_size % SEALED_CHUNK and payload_size % SEALED_CHUNK < TAG):
            raise AgePayloadError("the payload is truncated")
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        # The last chunk is opened now: a file cut short at a chunk boundary would
        # otherwise pass for a shorter whole one to a reader that never reaches the end.
        self._chunk(self._chunks - 1)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        last = index == self._chunks - 1
        sealed = self._read_at(self._start + index * SEALED_CHUNK, SEALED_CHUNK)
        if len(sealed) < TAG or (not last and len(sealed) != SEALED_CHUNK):
            raise AgePayloadError("the payload is truncated")
        plain = open_sealed(self._key, stream.chunk_nonce(index, last), sealed)
        if plain is None or (last and not plain and index > 0):
            raise AgePayloadError(f"payload chunk {index} failed authentication")
        self._cached = (index, plain)
        return plain

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._position >= self.size or not len(view):
            return 0
        index, skip = divmod(self._position, CHUNK)
        data = self._chunk(index)[skip: skip + len(view)]
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


def open_random_access(read_at: ReadAt, size: int,
                       identities: Sequence[Identity]) -> BinaryIO:
    """A seekable, readable file of the plaintext of the ``size``-byte binary age file
    that ``read_at`` reads."""
    source, armored = _input(io.BytesIO(read_at(0, min(size, _HEADER_PROBE))))
    if armored:
        raise AgeHeaderError("random access needs a binary (not armored) age file")
    file_key = header.unwrap(header.read_header(source), identities)
    nonce_at = source.position
    nonce = read_at(nonce_at, stream.NONCE_SIZE)
    if len(nonce) != stream.NONCE_SIZE:
        raise AgeHeaderError("the file ends before the payload nonce")
    start = nonce_at + stream.NONCE_SIZE
    raw = _RandomAccessReader(read_at, start, size - start,
                              stream.payload_key(file_key, nonce))
    return cast(BinaryIO, io.BufferedReader(raw, CHUNK))
