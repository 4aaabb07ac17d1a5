"""The payload (spec: "Payload"): a 16-byte nonce, then the STREAM construction.

The plaintext is cut into 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
``HKDF(file key, salt=nonce, info="payload")`` and a 12-byte nonce: an 11-byte
big-endian chunk counter, then 0x01 for the final chunk and 0x00 before it. The final
chunk may be short, and is empty only when the whole payload is.

Work is done a block of ``BLOCK_CHUNKS`` chunks at a time in preallocated buffers,
so memory is fixed (about 2 MiB) whatever the file size, and Python runs once a
block, not once a byte. The final chunk is only known when the input ends, so the
last chunk of a full block is always held back until more input (or the end) shows
whether it is the final one.

:func:`formats.age.encrypt` and :func:`formats.age.decrypt` also use a second core
when the process may run on one: a block's chunks are split between the caller's
thread and a helper (:class:`CipherPool`), and finished blocks are written by a
writer thread (:class:`BackgroundOutput`), since libsodium and file writes release
the GIL. On a single core the threads only cost. The streaming interfaces
(``encrypt_stream``, ``decrypt_stream``) stay on the caller's thread.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from formats._age.primitives import (
    CHUNK,
    SEALED_CHUNK,
    TAG,
    ChunkCipher,
    buffer_pointer,
    hkdf,
)
from formats.errors import AgePayloadError

NONCE_SIZE = 16
BLOCK_CHUNKS = 8  # measured: larger blocks cost cache misses, smaller ones Python time

ReadInto = Callable[[memoryview], int]


class Writable(Protocol):
    def write(self, data: Any, /) -> object: ...


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf(file_key, nonce, b"payload")


def chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _fill(readinto: ReadInto, view: memoryview) -> int:
    """Read until ``view`` is full or the input ends; the number of bytes read."""
    total = 0
    while total < len(view):
        got = readinto(view[total:])
        if not got:
            break
        total += got
    return total


class _Spares:
    """Block buffers that finished streams handed back, for the next stream to use.

    A fresh half-megabyte buffer costs a page fault per 4 KiB page when it is first
    filled, and a package build opens dozens of short streams (its stage), so that
    came to a good part of the fixed cost of a build. A stream hands back only the
    buffers it alone used, when it is done with them; a few are kept.
    """

    def __init__(self, keep: int = 4) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._free: dict[int, list[bytearray]] = {}

    def take(self, size: int) -> bytearray:
        with self._lock:
            free = self._free.get(size)
            if free:
                return free.pop()
        return bytearray(size)

    def give(self, buffer: bytearray) -> None:
        with self._lock:
            free = self._free.setdefault(len(buffer), [])
            if len(free) < self._keep:
                free.append(buffer)


_SPARES = _Spares()


class Output:
    """Where sealed or opened blocks go: one reused buffer, written as soon as filled."""

    def __init__(self, sink: Writable, size: int) -> None:
        self._sink = sink
        self._buffer: bytearray | None = _SPARES.take(size) if size else None

    def buffer(self) -> bytearray:
        if self._buffer is None:
            raise ValueError("the output is closed")
        return self._buffer

    def submit(self, buffer: bytearray, size: int) -> None:
        self._sink.write(memoryview(buffer)[:size])

    def close(self) -> None:
        """Everything submitted is written."""
        self._release()

    def abort(self) -> None:
        """Stop, written or not."""
        self._release()

    def _release(self) -> None:
        if self._buffer is not None:
            _SPARES.give(self._buffer)
            self._buffer = None


class BackgroundOutput(Output):
    """Writes blocks on a thread of its own while the caller seals or opens the next.

    libsodium (through cffi) and file writes both release the GIL, so on two cores
    the cipher and the I/O overlap. Buffers go round through two queues, so none is
    refilled before it was written, and memory stays at ``count`` buffers.
    """

    def __init__(self, sink: Writable, size: int, count: int = 3) -> None:
        super().__init__(sink, 0)
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        for _ in range(count):
            self._free.put(bytearray(size))
        self._error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="age-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._full.get()) is not None:
            buffer, size = item
            if self._error is None and not self._stopped:
                try:
                    self._sink.write(memoryview(buffer)[:size])
                except BaseException as exc:  # handed to the caller at its next step
                    self._error = exc
            self._free.put(buffer)

    def buffer(self) -> bytearray:
        buffer = self._free.get()
        if self._error is not None:
            raise self._error
        return buffer

    def submit(self, buffer: bytearray, size: int) -> None:
        self._full.put((buffer, size))

    def close(self) -> None:
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        self._stopped = True
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()


class _Pointers:
    """C pointers to the (never resized) buffers a cipher works in, made once each."""

    def __init__(self) -> None:
        self._pointers: dict[int, tuple[bytearray, Any]] = {}

    def __call__(self, buffer: bytearray) -> Any:
        entry = self._pointers.get(id(buffer))
        if entry is None or entry[0] is not buffer:
            entry = self._pointers[id(buffer)] = (buffer, buffer_pointer(buffer))
        return entry[1]


Job = tuple[Any, Any, int, bytes]  # output pointer, input pointer, input size, nonce


def _first_failure(work: Callable[[Job], bool], jobs: list[Job], start: int) -> int | None:
    for i, job in enumerate(jobs):
        if not work(job):
            return start + i
    return None


class CipherPool:
    """Splits a block's chunks between the caller's thread and one helper thread.

    Chunks are independent once their nonces are known, and libsodium releases the
    GIL, so on two cores a block takes about half the time.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="age-cipher")

    def run(self, work: Callable[[Job], bool], jobs: list[Job]) -> int | None:
        """The index of the first job ``work`` failed, or None."""
        if len(jobs) < 2:
            return _first_failure(work, jobs, 0)
        half = (len(jobs) + 1) // 2
        theirs = self._executor.submit(_first_failure, work, jobs[half:], half)
        mine = _first_failure(work, jobs[:half], 0)
        failed = theirs.result()
        return mine if mine is not None else failed

    def close(self) -> None:
        self._executor.shutdown()


def _run_here(work: Callable[[Job], bool], jobs: list[Job]) -> int | None:
    return _first_failure(work, jobs, 0)


class PayloadEncryptor:
    """Encrypts pushed (``write``) or pulled (``read_from``) plaintext into ``output``.

    The sink behind ``output`` gets views of reused buffers: like any file object's
    ``write``, it must be done with them when it returns.
    """

    def __init__(self, key: bytes, output: Output, pool: CipherPool | None = None) -> None:
        self._cipher = ChunkCipher(key)
        self._output = output
        self._pool = pool
        self._run = pool.run if pool is not None else _run_here
        self._plain = _SPARES.take(BLOCK_CHUNKS * CHUNK)
        self._plain_view = memoryview(self._plain)
        self._plain_ptr = buffer_pointer(self._plain)
        self._released = False
        self._pointer = _Pointers()
        self._filled = 0
        self._counter = 0

    def _seal(self, sizes: list[int], last: bool) -> None:
        """Seal consecutive chunks of ``sizes`` from the block start; write them out."""
        sealed = self._output.buffer()
        plain, out_ptr = self._plain_ptr, self._pointer(sealed)
        counter, final = self._counter, len(sizes) - 1
        jobs: list[Job] = []
        out = 0
        for i, size in enumerate(sizes):
            nonce = chunk_nonce(counter + i, last and i == final)
            jobs.append((out_ptr + out, plain + i * CHUNK, size, nonce))
            out += size + TAG
        self._run(self._seal_one, jobs)
        self._counter += len(sizes)
        self._output.submit(sealed, out)

    def _seal_one(self, job: Job) -> bool:
        self._cipher.seal(*job)
        return True

    def _block_full(self) -> None:
        # None of these is the final chunk: at least the held-back one follows.
        self._seal([CHUNK] * (BLOCK_CHUNKS - 1), last=False)
        self._plain_view[:CHUNK] = self._plain_view[(BLOCK_CHUNKS - 1) * CHUNK :]
        self._filled = CHUNK

    def write(self, data: Any) -> int:
        with memoryview(data) as raw:
            view = raw.cast("B")
            position = 0
            while position < len(view):
                room = len(self._plain) - self._filled
                take = min(room, len(view) - position)
                end = self._filled + take
                self._plain_view[self._filled : end] = view[position : position + take]
                self._filled = end
                position += take
                if self._filled == len(self._plain):
                    self._block_full()
            return len(view)

    def read_from(self, readinto: ReadInto) -> None:
        """Encrypt everything ``readinto`` gives until it reports the end."""
        while got := readinto(self._plain_view[self._filled :]):
            self._filled += got
            if self._filled == len(self._plain):
                self._block_full()

    def finish(self) -> None:
        """Seal what is left, ending with the final chunk (empty for an empty file),
        and wait until all of it is written."""
        try:
            whole = (self._filled - 1) // CHUNK if self._filled else 0
            self._seal([CHUNK] * whole + [self._filled - whole * CHUNK], last=True)
            self._filled = 0
            self._output.close()
        finally:
            self._close_pool()
        self._release()

    def abort(self) -> None:
        try:
            self._output.abort()
        finally:
            self._close_pool()
        self._release()

    def _release(self) -> None:
        """Hand the plaintext buffer on (once); the encryptor cannot be written to again."""
        if not self._released:
            self._released = True
            self._plain_view.release()
            _SPARES.give(self._plain)

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()


def decrypt_blocks(
    readinto: ReadInto,
    key: bytes,
    next_buffer: Callable[[], bytearray],
    pool: CipherPool | None = None,
) -> Iterator[tuple[bytearray, int]]:
    """Authenticated plaintext a block at a time: (buffer, bytes in it).

    Each block goes into ``next_buffer()``. Nothing of a block is yielded before all
    of its chunks authenticated, and the end comes only after the final chunk did
    and nothing followed it.
    """
    cipher = ChunkCipher(key)
    run = pool.run if pool is not None else _run_here
    sealed = _SPARES.take(BLOCK_CHUNKS * SEALED_CHUNK)
    try:
        yield from _open_blocks(readinto, cipher, run, sealed, next_buffer)
    finally:
        _SPARES.give(sealed)


def _open_blocks(
    readinto: ReadInto,
    cipher: ChunkCipher,
    run: Callable[[Callable[[Job], bool], list[Job]], int | None],
    sealed: bytearray,
    next_buffer: Callable[[], bytearray],
) -> Iterator[tuple[bytearray, int]]:
    def open_one(job: Job) -> bool:
        return cipher.open(*job)

    sealed_view, sealed_ptr = memoryview(sealed), buffer_pointer(sealed)
    pointer = _Pointers()
    filled = _fill(readinto, sealed_view)
    if not filled:
        raise AgePayloadError("the payload is missing: the file is truncated")
    counter = 0
    while True:
        at_end = filled < len(sealed)
        if at_end:
            count = -(-filled // SEALED_CHUNK)
            final_size = filled - (count - 1) * SEALED_CHUNK
            if final_size < TAG:
                raise AgePayloadError("the payload is truncated (a chunk is shorter than its tag)")
            if final_size == TAG and counter + count > 1:
                raise AgePayloadError("the final chunk is empty (allowed only for an empty file)")
        else:
            count, final_size = BLOCK_CHUNKS - 1, SEALED_CHUNK
        plain = next_buffer()
        plain_ptr = pointer(plain)
        jobs: list[Job] = []
        produced = 0
        for i in range(count):
            size = final_size if i == count - 1 else SEALED_CHUNK
            nonce = chunk_nonce(counter + i, at_end and i == count - 1)
            jobs.append((plain_ptr + produced, sealed_ptr + i * SEALED_CHUNK, size, nonce))
            produced += size - TAG
        failed = run(open_one, jobs)
        if failed is not None:
            raise AgePayloadError(
                f"payload chunk {counter + failed} failed authentication: "
                "the file was altered, truncated or has data appended"
            )
        counter += count
        yield plain, produced
        if at_end:
            return
        sealed_view[:SEALED_CHUNK] = sealed_view[count * SEALED_CHUNK :]
        filled = SEALED_CHUNK + _fill(readinto, sealed_view[SEALED_CHUNK:])


def plain_blocks(readinto: ReadInto, key: bytes) -> Iterator[memoryview]:
    """:func:`decrypt_blocks` into one reused buffer, as views of it."""
    buffer = _SPARES.take(BLOCK_CHUNKS * CHUNK)
    try:
        for block, size in decrypt_blocks(readinto, key, lambda: buffer):
            yield memoryview(block)[:size]
    finally:
        _SPARES.give(buffer)


class EncryptingWriter(io.RawIOBase):
    """A writable, non-seekable stream; ``close`` seals the final chunk.

    ``abort`` closes without sealing it, so an interrupted write can never be mistaken
    for a complete file: it fails to decrypt ("payload is truncated").
    """

    def __init__(self, encryptor: PayloadEncryptor, finish: Callable[[], None]) -> None:
        """``finish`` seals the final chunk and ends the file (armor and all)."""
        super().__init__()
        self._encryptor = encryptor
        self._finish = finish
        self._position = 0
        self._aborted = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed age stream")
        size = self._encryptor.write(data)
        self._position += size
        return size

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._aborted:
                self._encryptor.abort()
            else:
                self._finish()
        finally:
            super().close()

    def abort(self) -> None:
        """Close without writing the final chunk: the output will not decrypt."""
        self._aborted = True
        self.close()

    def __del__(self) -> None:
        # Garbage collection must not complete a file that nobody closed.
        self._aborted = True
        super().__del__()


class DecryptingReader(io.RawIOBase):
    """A readable stream over authenticated plaintext blocks."""

    def __init__(self, blocks: Iterator[memoryview]) -> None:
        super().__init__()
        self._blocks = blocks
        self._current = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            if self._done:
                return 0
            try:
                self._current = next(self._blocks)
            except StopIteration:
                self._done = True
                return 0
        with memoryview(buffer) as raw:
            target = raw.cast("B")
            n = min(len(target), len(self._current))
            target[:n] = self._current[:n]
        self._current = self._current[n:]
        return n
