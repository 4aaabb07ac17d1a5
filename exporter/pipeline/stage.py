"""Staging: where collected records wait, encrypted, until the package is assembled.

Each dataset is staged as one age-encrypted stream, ``<dataset id>.staged``, holding
its JSON-LD and CSV files already deflated as the package's ZIP entries, and its
summary after them. The exporter's command line stages in a temporary folder under a
key that exists only in memory for the run; the service stages in its blob store under
the vault key. Either way no personal data touches a disk in plaintext.

One stream per dataset rather than one per file: a blob costs a file (or an S3 object)
to create, sync, read and delete, and for most citizens those costs, not the data, are
most of the staging. The two files are written side by side as the records arrive, so
the JSON-LD goes into the stream as it is deflated while the CSV is held in memory up
to :data:`HELD_LIMIT` and written after it; a larger CSV moves to a stream of its own,
``<dataset id>.csv``, so memory stays bounded. The layout::

    staged  := part(JSON-LD) part(CSV) summary
    part    := frame* u32(0) entry          the part's deflated bytes, here
             | u32(0xFFFFFFFF) entry        the part's bytes are <dataset id>.<part>
    frame   := u32(n > 0) n bytes
    entry   := u32 CRC-32, u64 size, u64 deflated size, 32 bytes SHA-256
    summary := JSON, to the end of the stream

(integers big-endian), where an entry is what the ZIP and ``SHA256SUMS`` need to know
of the part (:class:`~formats.container.DeflatedEntry`).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple, Protocol

import orjson

from formats import age
from formats.container import DeflatedEntry

__all__ = [
    "HELD_LIMIT",
    "STAGED_NAMES",
    "EphemeralStage",
    "Stage",
    "StagedPart",
    "StagedReader",
    "StagedWriter",
    "check_name",
    "read_records",
]

_CHUNK = 1 << 20
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}\.(staged|csv)$")
STAGED_NAMES = ("staged", "csv")
"""What a dataset may leave in a stage: ``<id>.staged`` and, for a large CSV, ``<id>.csv``."""
HELD_LIMIT = 1 << 20
"""Deflated CSV bytes held in memory per dataset before the CSV moves to its own stream."""

_U32 = struct.Struct(">I")
_ENTRY = struct.Struct(">IQQ32s")
_END = 0
_SPILLED = 0xFFFFFFFF
_MAX_FRAME = 64 << 20


class Stage(Protocol):
    def writer(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def reader(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def discard(self, name: str) -> None: ...


def check_name(name: str) -> str:
    """``name``, if it is a staged stream's name (``<dataset id>.staged|csv``)."""
    if not _NAME.fullmatch(name):  # fullmatch: "$" alone lets a final newline through
        raise ValueError(f"bad dataset id {name!r}")
    return name


class MalformedStage(ValueError):
    """A staged stream that does not follow the layout (a bug, never a source's data:
    the stream is authenticated, so it is what the collect job wrote)."""


def _pack_entry(entry: DeflatedEntry) -> bytes:
    return _ENTRY.pack(entry.crc, entry.size, entry.compressed_size,
                       bytes.fromhex(entry.sha256))


class _Frames(io.RawIOBase):
    """Writes each chunk to ``out`` as a frame."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__()
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size: int = memoryview(data).nbytes
        if size:
            self._out.write(_U32.pack(size))
            self._out.write(data)
        return size


class _Held(io.RawIOBase):
    """Holds what is written in memory up to ``limit`` bytes; past that, moves it to
    the stream ``spill()`` opens and writes the rest there."""

    def __init__(self, limit: int, spill: Callable[[], IO[bytes]]) -> None:
        super().__init__()
        self._limit = limit
        self._spill = spill
        self.held: bytearray | None = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size: int = memoryview(data).nbytes
        if self.held is not None and len(self.held) + size <= self._limit:
            self.held += data
            return size
        if self.held is not None:
            self._out = self._spill()
            self._out.write(self.held)
            self.held = None
        self._out.write(data)
        return size


class StagedWriter:
    """Writes one dataset's ``<id>.staged`` stream (see the module's layout).

    Write the JSON-LD's deflated bytes to :attr:`jsonld` and the CSV's to :attr:`csv`,
    in any order and interleaved, then call :meth:`finish` with both entries and the
    summary. Leaving the block without :meth:`finish` leaves an unfinished stream,
    which the caller discards.
    """

    def __init__(self, stage: Stage, dataset_id: str, *, held_limit: int | None = None) -> None:
        self._stage = stage
        self._id = dataset_id
        self._stack = contextlib.ExitStack()
        self._out = self._stack.enter_context(stage.writer(f"{dataset_id}.staged"))
        self.jsonld: IO[bytes] = _Frames(self._out)  # type: ignore[assignment]
        self._held = _Held(HELD_LIMIT if held_limit is None else held_limit, self._spill)
        self.csv: IO[bytes] = self._held  # type: ignore[assignment]

    def _spill(self) -> IO[bytes]:
        return self._stack.enter_context(self._stage.writer(f"{self._id}.csv"))

    def finish(self, jsonld: DeflatedEntry, csv: DeflatedEntry, summary: bytes) -> None:
        out = self._out
        out.write(_U32.pack(_END))
        out.write(_pack_entry(jsonld))
        held = self._held.held
        if held is None:
            out.write(_U32.pack(_SPILLED))
        elif held:
            out.write(_U32.pack(len(held)))
            out.write(held)
            out.write(_U32.pack(_END))
        else:
            out.write(_U32.pack(_END))
        out.write(_pack_entry(csv))
        out.write(summary)

    def __enter__(self) -> StagedWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(kind, exc, tb)


class StagedPart(NamedTuple):
    """One part of a staged dataset: its deflated bytes, and (once they are read) what
    the ZIP needs to know of it."""

    chunks: Iterator[bytes]
    entry: Callable[[], DeflatedEntry]


class StagedReader:
    """Reads a stream :class:`StagedWriter` wrote: its parts in order, then the summary."""

    def __init__(self, stream: IO[bytes], dataset_id: str) -> None:
        self._stream = stream
        self._id = dataset_id

    def _exactly(self, size: int) -> bytes:
        data = self._stream.read(size)
        while len(data) < size:
            more = self._stream.read(size - len(data))
            if not more:
                raise MalformedStage(f"staged dataset {self._id!r} ends early")
            data += more
        return data

    def _u32(self) -> int:
        value: int = _U32.unpack(self._exactly(_U32.size))[0]
        return value

    def _entry(self) -> DeflatedEntry:
        crc, size, compressed, sha256 = _ENTRY.unpack(self._exactly(_ENTRY.size))
        return DeflatedEntry(size, compressed, crc, sha256.hex())

    def _frames(self, size: int) -> Iterator[bytes]:
        while size != _END:
            if size > _MAX_FRAME:
                raise MalformedStage(f"staged dataset {self._id!r} has a {size}-byte frame")
            yield self._exactly(size)
            size = self._u32()

    @contextlib.contextmanager
    def part(self, spilled: Callable[[], contextlib.AbstractContextManager[IO[bytes]]]
             | None = None) -> Iterator[StagedPart]:
        """The next part; ``spilled()`` opens the part's own stream if it has one (only
        a CSV may). Read :attr:`StagedPart.chunks` to the end before asking for the
        entry."""
        size = self._u32()
        if size == _SPILLED:
            if spilled is None:
                raise MalformedStage(f"staged dataset {self._id!r}: a part that cannot "
                                     f"have a stream of its own says it has")
            entry = self._entry()
            with spilled() as stream:
                yield StagedPart(iter(lambda: stream.read(_CHUNK), b""), lambda: entry)
        else:
            yield StagedPart(self._frames(size), self._entry)

    def summary(self) -> bytes:
        """The summary: the rest of the stream, after both parts."""
        return self._stream.read()


def read_records(stage: Stage, dataset_id: str) -> Iterator[Mapping[str, Any]]:
    """The records of a staged dataset's JSON-LD, one at a time.

    orjson escapes newlines inside strings, so after the document's opening line each
    record is a line of its own, ending in a comma but for the last.
    """
    with (stage.reader(f"{dataset_id}.staged") as stream,
          StagedReader(stream, dataset_id).part() as part):
        inflater = zlib.decompressobj(-15)
        pending = b""
        opening = True
        for chunk in itertools.chain(part.chunks, [b""]):
            data = pending + (inflater.decompress(chunk) if chunk else inflater.flush())
            lines = data.split(b"\n")
            pending = lines.pop() if chunk else b""
            for line in lines:
                if opening:
                    opening = False
                elif line.startswith(b"{"):
                    yield orjson.loads(line.removesuffix(b","))


class EphemeralStage:
    """A temporary folder of encrypted streams under a key held only in memory."""

    def __init__(self, parent: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="egnedata-stage-", dir=parent))
        self._identity = age.X25519Identity.generate()

    def _path(self, name: str) -> Path:
        return self._dir / f"{check_name(name)}.age"

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[IO[bytes]]:
        path = self._path(name)
        try:
            with (path.open("wb") as raw,
                  age.encrypt_stream(raw, [self._identity.recipient]) as out):
                yield out
        except BaseException:
            path.unlink(missing_ok=True)  # as a blob store does: a failed write leaves nothing
            raise

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        with self._path(name).open("rb") as raw:
            stream = age.decrypt_stream(raw, [self._identity])
            try:
                yield stream
            finally:
                stream.close()

    def discard(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EphemeralStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
