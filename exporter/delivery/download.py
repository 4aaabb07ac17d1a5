"""Streaming a package out of the vault: the plain ZIP (with HTTP Range), an age file
re-wrapped for a passphrase given at download time, or one file of the ZIP.

The ZIP is decrypted chunk by chunk as it is sent; each 64 KiB chunk is authenticated
before any of it leaves. The passphrase download re-wraps the header only and streams
the stored payload bytes as they are: no re-encryption, whatever the size. One file of
the ZIP (the summary a citizen reads in the browser) is found through the ZIP's central
directory with random access into the encrypted blob, so only its own chunks are read.

The API and the pages both download through here, and both record the download with
:func:`record_download`.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from exporter.db.models import Package, Request
from exporter.keys import Keyring
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import NotFound
from exporter.storage import BlobStore
from formats import age

__all__ = [
    "ByteRange",
    "Download",
    "PackageFile",
    "RangeNotSatisfiable",
    "age_download",
    "age_stream",
    "live_package",
    "open_package_file",
    "parse_range",
    "record_download",
    "zip_download",
    "zip_stream",
]

_CHUNK = 64 * 1024
_HEADER_PROBE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ValueError):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One ``bytes=`` range of RFC 9110, or None for the whole file.

    Several ranges, or a header we do not understand, are answered with the whole file
    (which RFC 9110 allows); a range wholly past the end is not satisfiable.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:  # the last N bytes
        suffix = int(match[2])
        if suffix == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1))


def zip_stream(
    blobs: BlobStore, package: Package, keyring: Keyring, byte_range: ByteRange | None
) -> Iterator[bytes]:
    start = byte_range.start if byte_range else 0
    remaining = byte_range.length if byte_range else package.plain_size
    if start:  # a resumed download: start at its chunk, not at the beginning
        plain = _random_access(blobs, package, keyring)
        try:
            plain.seek(start)
            while remaining > 0 and (block := plain.read(min(_CHUNK, remaining))):
                remaining -= len(block)
                yield block
        finally:
            plain.close()
        return
    with blobs.open_reader(package.blob_key) as raw:
        plain = age.decrypt_stream(raw, keyring.vault_identities)
        try:
            skip = start
            while skip:
                skipped = len(plain.read(min(skip, 1 << 20)))
                if not skipped:
                    return
                skip -= skipped
            while remaining > 0:
                block = plain.read(min(_CHUNK, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block
        finally:
            plain.close()


def age_stream(
    blobs: BlobStore, package: Package, keyring: Keyring, passphrase: str
) -> tuple[int, Iterator[bytes]]:
    """The size of the re-wrapped file and its bytes: a new header, then the payload."""
    with blobs.open_reader(package.blob_key, 0, _HEADER_PROBE - 1) as raw:
        new = age.rewrap_header(raw, keyring.vault_identities, [age.ScryptRecipient(passphrase)])
    size = len(new.header) + package.size - new.payload_offset

    def body() -> Iterator[bytes]:
        yield new.header
        with blobs.open_reader(package.blob_key, new.payload_offset) as payload:
            while block := payload.read(1 << 20):
                yield block

    return size, body()


def live_package(request: Request) -> Package:
    """The request's package, if it is still kept; :class:`NotFound` otherwise."""
    package = request.package
    if package is None or package.deleted_at is not None:
        raise NotFound(f"there is no package to download (the request is {request.state})")
    return package


def record_download(context: ServiceContext, actor: Actor, request: Request,
                    package: Package, detail: dict[str, Any]) -> None:
    with context.sessions.begin() as session:
        audit.record(session, actor, "package.downloaded", request_id=request.id,
                     detail={"package": package.id, **detail})


@dataclass(frozen=True)
class PackageFile:
    """One file of a package: its name, size and bytes (read as they are iterated)."""

    name: str
    size: int
    chunks: Generator[bytes, None, None]


def _random_access(blobs: BlobStore, package: Package, keyring: Keyring) -> BinaryIO:
    def read_at(offset: int, length: int) -> bytes:
        end = min(offset + length, package.size)
        if offset >= end:
            return b""
        with blobs.open_reader(package.blob_key, offset, end) as raw:
            return raw.read()

    return age.open_random_access(read_at, package.size, keyring.vault_identities)


def open_package_file(blobs: BlobStore, package: Package, keyring: Keyring,
                      name: str) -> PackageFile:
    """The file ``name`` of the package's ZIP; :class:`NotFound` if it has none."""
    plain = _random_access(blobs, package, keyring)
    try:
        archive = zipfile.ZipFile(plain)
        info = archive.getinfo(name)
    except KeyError:
        plain.close()
        raise NotFound("the package has no such file") from None
    except BaseException:
        plain.close()
        raise
    if info.is_dir():
        plain.close()
        raise NotFound("the package has no such file")

    def chunks() -> Generator[bytes, None, None]:
        try:
            with archive.open(info) as member:
                while block := member.read(_CHUNK):
                    yield block
        finally:
            archive.close()
            plain.close()

    return PackageFile(info.filename, info.file_size, chunks())


@dataclass(frozen=True)
class Download:
    """What to answer a download with: status, headers, and the body to stream."""

    status: int
    headers: dict[str, str]
    body: Iterator[bytes]


def zip_download(context: ServiceContext, actor: Actor, request: Request,
                 range_header: str | None) -> Download:
    """The package as a ZIP, decrypted as it streams, with HTTP Range; audited. A range
    wholly past the end is 416."""
    package = live_package(request)
    size = package.plain_size
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return Download(416, {"Content-Range": f"bytes */{size}"}, iter(()))
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="egnedata-{package.id[:8]}.zip"',
        "Cache-Control": "no-store",
        "ETag": f'"{package.sha256}"',
        "Content-Length": str(byte_range.length if byte_range else size),
    }
    if byte_range is not None:
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    record_download(context, actor, request, package, {
        "format": "zip",
        "range": f"{byte_range.start}-{byte_range.end}" if byte_range else None,
    })
    return Download(206 if byte_range else 200, headers,
                    zip_stream(context.blobs, package, context.keyring, byte_range))


def age_download(context: ServiceContext, actor: Actor, request: Request,
                 passphrase: str) -> Download:
    """The package as an age file for ``passphrase``: a new header, the same payload."""
    package = live_package(request)
    size, body = age_stream(context.blobs, package, context.keyring, passphrase)
    record_download(context, actor, request, package, {"format": "age"})
    return Download(200, {
        "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="egnedata-{package.id[:8]}.zip.age"',
        "Cache-Control": "no-store",
    }, body)
