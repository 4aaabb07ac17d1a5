"""Random access to an age file's plaintext: any range reads back exactly, and a file
that is truncated, altered or for someone else fails when opened or read."""

from __future__ import annotations

import io
import os
import random
import zipfile

import pytest

from formats import age
from formats.errors import AgeError

IDENTITY = age.X25519Identity.generate()


def _encrypted(data: bytes) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(data), out, [IDENTITY.recipient])
    return out.getvalue()


def _open(blob: bytes, identities: list[age.Identity] | None = None):  # type: ignore[no-untyped-def]
    reads: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        reads.append((offset, length))
        return blob[offset:offset + length]

    return age.open_random_access(read_at, len(blob), identities or [IDENTITY]), reads


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 300_001])
def test_every_range_reads_back(size: int) -> None:
    data = os.urandom(size)
    reader, _ = _open(_encrypted(data))
    assert reader.read() == data
    rng = random.Random(size)
    for _ in range(30):
        start, length = rng.randint(0, size), rng.randint(0, 140_000)
        reader.seek(start)
        assert reader.read(length) == data[start:start + length]
    tail = min(size, 10)
    reader.seek(-tail, io.SEEK_END)
    assert reader.read() == data[size - tail:]


def test_one_member_of_a_large_zip_reads_only_its_own_chunks() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("data/big.bin", os.urandom(2_000_000))
        archive.writestr("index.html", b"<html>hello</html>")
    blob = _encrypted(buffer.getvalue())
    reader, reads = _open(blob)
    assert zipfile.ZipFile(reader).read("index.html") == b"<html>hello</html>"
    assert sum(length for _, length in reads) < 400_000  # not the 2 MB before it


@pytest.mark.parametrize("cut", [1, 16, 17, 65_552, 65_553])
def test_a_truncated_file_fails_when_opened(cut: int) -> None:
    blob = _encrypted(os.urandom(200_000))[:-cut]
    with pytest.raises(AgeError):
        reader, _ = _open(blob)
        reader.read()


def test_an_altered_chunk_fails_when_it_is_read() -> None:
    blob = bytearray(_encrypted(os.urandom(200_000)))
    blob[len(blob) // 2] ^= 1
    reader, _ = _open(bytes(blob))
    reader.seek(0)
    reader.read(60_000)  # chunk 0 is fine
    with pytest.raises(AgeError):
        reader.read()


def test_another_identity_cannot_open_it() -> None:
    with pytest.raises(AgeError):
        _open(_encrypted(b"secret"), [age.X25519Identity.generate()])
