"""The public functions of :mod:`formats.age`."""

from __future__ import annotations

import io
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, BinaryIO, cast

from formats._age import header, stream
from formats._age.armor import BEGIN, ArmorWriter, open_armor
from formats._age.primitives import CHUNK, SEALED_CHUNK
from formats._age.recipients import Identity, Recipient
from formats._age.source import Source
from formats.errors import AgeHeaderError, ArmorError

_COPY_BUFFER = 1 << 20
_SNIFF = 1024  # how far to look for an armor BEGIN line behind leading whitespace


def _input(src: IO[bytes]) -> tuple[Source, bool]:
    """The binary age file in ``src`` (de-armored if it is armored), and whether it was."""
    source = Source(src)
    head = source.peek(_SNIFF)
    if head.startswith(b"age-encryption.org/"):
        return source, False
    if head.lstrip(b" \t\r\n").startswith(b"-----"):
        return Source(open_armor(source)), True
    if not head:
        raise AgeHeaderError("the file is empty")
    if BEGIN in head:
        raise ArmorError("data before the armored file")
    raise AgeHeaderError("not an age file (no age-encryption.org/v1 line)")


def _start(
    dst: IO[bytes], recipients: Sequence[Recipient], armor: bool, background: bool
) -> tuple[stream.PayloadEncryptor, Callable[[], None]]:
    """Write the header and nonce; the payload encryptor, and what ends the file."""
    file_key = os.urandom(16)
    head = header.format_header(header.wrap(recipients, file_key), file_key)
    armor_writer = ArmorWriter(dst) if armor else None
    sink: stream.Writable = armor_writer if armor_writer is not None else dst
    nonce = os.urandom(stream.NONCE_SIZE)
    sink.write(head + nonce)
    size = stream.BLOCK_CHUNKS * SEALED_CHUNK
    output = stream.BackgroundOutput(sink, size) if background else stream.Output(sink, size)
    pool = stream.CipherPool() if background else None
    encryptor = stream.PayloadEncryptor(stream.payload_key(file_key, nonce), output, pool)

    def finish() -> None:
        encryptor.finish()
        if armor_writer is not None:
            armor_writer.finish()

    return encryptor, finish


@contextmanager
def encrypt_stream(
    dst: IO[bytes], recipients: Sequence[Recipient], *, armor: bool = False
) -> Iterator[BinaryIO]:
    """A writable, non-seekable stream that encrypts into ``dst``.

    The file is complete when the block ends (or the stream is closed). If the block
    raises, the final chunk is never written, so the output cannot pass for a whole
    file: decrypting it fails. ``dst`` is left open.
    """
    encryptor, finish = _start(dst, recipients, armor, background=False)
    writer = stream.EncryptingWriter(encryptor, finish)
    try:
        yield cast(BinaryIO, writer)
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _readinto_of(src: IO[bytes]) -> stream.ReadInto:
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        return cast(stream.ReadInto, readinto)

    def read_into(view: memoryview) -> int:
        data = src.read(len(view))
        view[: len(data)] = data
        return len(data)

    return read_into


def _several_cpus() -> bool:
    """Whether this process may run on more than one CPU. On one, the helper threads
    only add switching: measured, whole-file encryption was about 12% slower with them."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # no sched_getaffinity on this platform
        return (os.cpu_count() or 1) > 1


def encrypt(
    src: IO[bytes], dst: IO[bytes], recipients: Sequence[Recipient], *, armor: bool = False
) -> None:
    """Encrypt all of ``src`` into ``dst`` for ``recipients``."""
    encryptor, finish = _start(dst, recipients, armor, background=_several_cpus())
    try:
        encryptor.read_from(_readinto_of(src))
    except BaseException:
        encryptor.abort()
        raise
    finish()


def _open(src: IO[bytes], identities: Sequence[Identity]) -> tuple[Source, bytes]:
    source, _ = _input(src)
    file_key = header.unwrap(header.read_header(source), identities)
    return source, file_key


def _payload_key(source: Source, file_key: bytes) -> bytes:
    nonce = source.read(stream.NONCE_SIZE)
    if len(nonce) != stream.NONCE_SIZE:
        # The spec's test vectors count a missing nonce as a header failure.
        raise AgeHeaderError("the file ends before the payload nonce")
    return stream.payload_key(file_key, nonce)


def decrypt_stream(src: IO[bytes], identities: Sequence[Identity]) -> BinaryIO:
    """A readable stream of the plaintext.

    The header is checked here, the payload as it is read: a read raises
    :class:`~formats.errors.AgePayloadError` at the first block that fails, and the
    end of the stream is reported only after the final chunk authenticated and
    nothing followed it. Armored input is recognised by itself.
    """
    source, file_key = _open(src, identities)
    blocks = stream.plain_blocks(source.readinto, _payload_key(source, file_key))
    return io.BufferedReader(stream.DecryptingReader(blocks), CHUNK)


def decrypt(src: IO[bytes], dst: IO[bytes], identities: Sequence[Identity]) -> None:
    """Decrypt ``src`` into ``dst``. On an error ``dst`` may hold some plaintext
    (all of it authenticated): write to a temporary file and keep it only on success."""
    source, file_key = _open(src, identities)
    key = _payload_key(source, file_key)
    size = stream.BLOCK_CHUNKS * CHUNK
    threads = _several_cpus()
    output = stream.BackgroundOutput(dst, size) if threads else stream.Output(dst, size)
    pool = stream.CipherPool() if threads else None
    try:
        for block, got in stream.decrypt_blocks(source.readinto, key, output.buffer, pool):
            output.submit(block, got)
    except BaseException:
        output.abort()
        raise
    finally:
        if pool is not None:
            pool.close()
    output.close()


@dataclass(frozen=True)
class NewHeader:
    """A re-wrapped header, and where the unchanged payload starts in the source."""

    header: bytes
    payload_offset: int


def rewrap_header(
    src: IO[bytes], identities: Sequence[Identity], new_recipients: Sequence[Recipient]
) -> NewHeader:
    """The header :func:`rewrap` would write, for a caller that copies the payload itself.

    The output file is ``header`` followed by the bytes of the source from
    ``payload_offset`` on (nonce and chunks), which the caller may copy any way it
    likes: ``os.copy_file_range`` (a reflink on some file systems), an S3 server-side
    copy, and so on. Only binary (not armored) sources have such an offset.
    """
    source, armored = _input(src)
    if armored:
        raise ValueError("rewrap_header needs a binary age file; use rewrap for armor")
    file_key = header.unwrap(header.read_header(source), identities)
    new = header.format_header(header.wrap(new_recipients, file_key), file_key)
    return NewHeader(new, source.position)


def rewrap(
    src: IO[bytes],
    dst: IO[bytes],
    identities: Sequence[Identity],
    new_recipients: Sequence[Recipient],
    *,
    armor: bool = False,
) -> None:
    """Copy an age file with a new header for ``new_recipients``.

    The file key is unwrapped with one of ``identities`` and wrapped again; the
    payload (nonce and chunks) is copied byte for byte, so the cost beyond the copy
    does not depend on the file's size. The payload is not authenticated here: the
    recipient's decryption does that. ``armor`` armors the output; armored input is
    recognised by itself.
    """
    source, file_key = _open(src, identities)
    new = header.format_header(header.wrap(new_recipients, file_key), file_key)
    armor_writer = ArmorWriter(dst) if armor else None
    sink = armor_writer if armor_writer is not None else dst
    sink.write(new)
    sink.write(source.take_buffer())
    if armor_writer is None:
        if not _copy_in_kernel(source.raw, dst):
            shutil.copyfileobj(cast(IO[bytes], source.raw), dst, _COPY_BUFFER)
        return
    while block := source.raw.read(_COPY_BUFFER):
        armor_writer.write(block)
    armor_writer.finish()


def _copy_in_kernel(src: object, dst: IO[bytes]) -> bool:
    """Copy the rest of ``src`` to ``dst`` with ``os.copy_file_range``; False if the
    two are not both regular files (or the kernel cannot), and nothing was copied.

    Between regular files this skips the trip through user space, and some file
    systems (Btrfs, XFS) share the blocks instead of copying them (a reflink).
    """
    copy_file_range = getattr(os, "copy_file_range", None)
    fileno, tell = getattr(src, "fileno", None), getattr(src, "tell", None)
    if copy_file_range is None or fileno is None or tell is None:
        return False
    try:
        in_fd, out_fd = fileno(), dst.fileno()
        if not (_regular(in_fd) and _regular(out_fd)):
            return False
        offset = tell()  # the logical position, whatever was read ahead into buffers
        dst.flush()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return False
    copied = 0
    while True:
        try:
            n = copy_file_range(in_fd, out_fd, 1 << 30, offset + copied)
        except OSError:
            if copied:
                raise
            return False  # e.g. across file systems on older kernels
        if not n:
            break
        copied += n
    # The buffered file objects must learn where the descriptors now are.
    dst.seek(os.lseek(out_fd, 0, os.SEEK_CUR))
    return True


def _regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)
