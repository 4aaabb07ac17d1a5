"""The BlobStore contract, run against every store."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import IO

import pytest

from exporter.storage import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    InvalidBlobKeyError,
    RangeNotSatisfiableError,
)

KEY = "packages/3f2c7d0e-1b4a-4c55-9a51-6a0d2f1e8b77.zip.age"
MiB = 1024 * 1024


def put(store: BlobStore, key: str, data: bytes) -> None:
    with store.open_writer(key) as out:
        out.write(data)


def get(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    with store.open_reader(key, start, end) as stream:
        return stream.read()


def test_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


def test_round_trip(store: BlobStore) -> None:
    put(store, KEY, b"age-encryption.org/v1\nciphertext")
    assert get(store, KEY) == b"age-encryption.org/v1\nciphertext"
    assert store.size(KEY) == 32
    assert store.exists(KEY)


def test_empty_blob(store: BlobStore) -> None:
    put(store, "empty", b"")
    assert get(store, "empty") == b""
    assert store.size("empty") == 0


def test_overwrite_replaces(store: BlobStore) -> None:
    put(store, KEY, b"old")
    put(store, KEY, b"new and longer")
    assert get(store, KEY) == b"new and longer"


def _pattern(index: int) -> bytes:
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * 2048  # 64 KiB


def test_large_blob_streams_in_bounded_memory(store: BlobStore) -> None:
    """24 MiB in 64 KiB writes and reads: several 5 MiB parts on S3, and memory
    stays near one part, far below the blob's size."""
    chunks = 24 * MiB // len(_pattern(0))
    written = hashlib.sha256()
    tracemalloc.start()
    try:
        with store.open_writer(KEY) as out:
            for i in range(chunks):
                block = _pattern(i)
                written.update(block)
                out.write(block)
        read = hashlib.sha256()
        with store.open_reader(KEY) as stream:
            while block := stream.read(64 * 1024):
                read.update(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read.hexdigest() == written.hexdigest()
    assert store.size(KEY) == 24 * MiB
    assert peak < 10 * MiB, f"peak {peak / MiB:.1f} MiB for a 24 MiB blob"


def test_ranges(store: BlobStore) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    put(store, KEY, data)
    assert get(store, KEY, 0, 16) == data[:16]  # first bytes
    assert get(store, KEY, 5000, 5100) == data[5000:5100]  # middle
    assert get(store, KEY, 10000) == data[10000:]  # from an offset to the end
    assert get(store, KEY, -100) == data[-100:]  # suffix: the last 100 bytes
    assert get(store, KEY, -20000) == data  # a suffix longer than the blob: all of it
    assert get(store, KEY, 10200, 99999) == data[10200:]  # an end past the end is cut
    assert get(store, KEY, 10239, 10240) == data[-1:]


@pytest.mark.parametrize(("start", "end"), [(10240, None), (10240, 10300), (20000, None)])
def test_range_starting_past_the_end_is_not_satisfiable(
    store: BlobStore, start: int, end: int | None
) -> None:
    put(store, KEY, b"x" * 10240)
    with pytest.raises(RangeNotSatisfiableError), store.open_reader(KEY, start, end):
        pass


@pytest.mark.parametrize(("start", "end"), [(5, 5), (9, 3), (-10, 20)])
def test_empty_or_reversed_range_is_a_caller_error(
    store: BlobStore, start: int, end: int | None
) -> None:
    put(store, KEY, b"x" * 100)
    with pytest.raises(ValueError, match="range"), store.open_reader(KEY, start, end):
        pass


def test_partial_reads(store: BlobStore) -> None:
    data = os.urandom(300_000)
    put(store, KEY, data)
    with store.open_reader(KEY, 1000, 250_000) as stream:
        assert stream.read(10) == data[1000:1010]
        assert stream.read(100_000) == data[1010:101_010]
        assert stream.read() == data[101_010:250_000]
        assert stream.read() == b""


def test_aborted_write_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(RuntimeError), store.open_writer(KEY) as out:
        for i in range(200):  # 12.5 MiB: two parts already uploaded on S3
            out.write(_pattern(i))
        raise RuntimeError("the source failed")
    assert not store.exists(KEY)
    assert list(store.list()) == []


def test_aborted_overwrite_keeps_the_old_blob(store: BlobStore) -> None:
    put(store, KEY, b"old")
    with pytest.raises(RuntimeError), store.open_writer(KEY) as out:
        out.write(b"half of the new")
        raise RuntimeError("interrupted")
    assert get(store, KEY) == b"old"


def test_blob_is_invisible_until_the_writer_ends(store: BlobStore) -> None:
    with store.open_writer(KEY) as out:
        out.write(b"x" * 100)
        assert not store.exists(KEY)
    assert store.exists(KEY)


def test_missing_blob(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound), store.open_reader("packages/nothing.zip.age"):
        pass
    with pytest.raises(BlobNotFound):
        store.size("packages/nothing.zip.age")
    assert not store.exists("packages/nothing.zip.age")


def test_a_prefix_is_not_a_blob(store: BlobStore) -> None:
    put(store, "stage/r1/a.jsonl.age", b"x")
    assert not store.exists("stage/r1")
    with pytest.raises(BlobNotFound):
        store.size("stage/r1")
    with pytest.raises(BlobNotFound), store.open_reader("stage/r1"):
        pass
    assert not store.exists("stage/r1/a.jsonl.age/deeper")


HOSTILE = ["../etc/passwd", "a/../../b", "/etc/passwd", "a\\b", "a\x00b", "a//b", "a/", "", "."]


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidBlobKeyError), store.open_writer(key):
        pass
    with pytest.raises(InvalidBlobKeyError), store.open_reader(key):
        pass
    for operation in (store.size, store.exists, store.delete):
        with pytest.raises(InvalidBlobKeyError):
            operation(key)
    assert list(store.list()) == []


def test_list(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for key, data in [
        ("packages/b.zip.age", b"bb"),
        ("packages/a.zip.age", b"a"),
        ("stage/r1/x.jsonl.age", b"xxx"),
        ("stage/r10/y.csv.age", b"y"),
    ]:
        put(store, key, data)
    after = datetime.now(UTC) + timedelta(seconds=5)
    everything = list(store.list())
    assert [i.key for i in everything] == [
        "packages/a.zip.age",
        "packages/b.zip.age",
        "stage/r1/x.jsonl.age",
        "stage/r10/y.csv.age",
    ]
    assert all(isinstance(i, BlobInfo) for i in everything)
    assert all(before <= i.modified <= after and i.modified.tzinfo for i in everything)
    assert [(i.key, i.size) for i in store.list("packages/")] == [
        ("packages/a.zip.age", 1),
        ("packages/b.zip.age", 2),
    ]
    assert [i.key for i in store.list("stage/r1/")] == ["stage/r1/x.jsonl.age"]
    assert [i.key for i in store.list("stage/r1")] == [
        "stage/r1/x.jsonl.age",
        "stage/r10/y.csv.age",
    ]
    assert list(store.list("nothing/")) == []
    with pytest.raises(InvalidBlobKeyError):
        list(store.list("../"))


def test_delete_is_idempotent(store: BlobStore) -> None:
    put(store, KEY, b"x")
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)
    store.delete("packages/never-there.zip.age")
    assert list(store.list()) == []


def test_writer_is_a_binary_stream(store: BlobStore) -> None:
    with store.open_writer(KEY) as out:
        writable: IO[bytes] = out
        writable.write(memoryview(b"abc"))
        writable.write(bytearray(b"def"))
        writable.writelines([b"g", b"h"])
    assert get(store, KEY) == b"abcdefgh"


def test_ranges_of_an_empty_blob(store: BlobStore) -> None:
    put(store, "empty", b"")
    assert get(store, "empty") == b""
    assert get(store, "empty", -5) == b""  # RFC 9110: a suffix range always is satisfiable
    with pytest.raises(RangeNotSatisfiableError), store.open_reader("empty", 0, 10):
        pass


def test_blobs_written_for_a_later_sync_are_there_at_once(store: BlobStore) -> None:
    keys = [f"stage/r/s/1/part-{i}.age" for i in range(3)]
    for i, key in enumerate(keys):
        with store.open_writer(key, durable=False) as out:
            out.write(b"part %d" % i)
    assert [get(store, key) for key in keys] == [b"part 0", b"part 1", b"part 2"]
    store.sync(keys)
    store.sync([])
    assert [info.key for info in store.list("stage/")] == keys
