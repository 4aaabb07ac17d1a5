"""The blob store contract: what the service needs from a place to keep files.

Everything handed to a store is already age-encrypted by its caller (packages to the
vault key, staged data by :class:`~exporter.storage.stage.BlobStage`); a store never
sees plaintext, and its own encryption (S3 server-side encryption, an encrypted
disk) is a second layer, not a substitute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Protocol, runtime_checkable

__all__ = ["BlobInfo", "BlobStore"]


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its key, size in bytes, and when it was last written (UTC)."""

    key: str
    size: int
    modified: datetime


@runtime_checkable
class BlobStore(Protocol):
    """Blobs under keys (:mod:`exporter.storage.names`), written whole or not at all.

    Errors are :class:`~exporter.errors.StorageError` subclasses: a missing blob is
    :class:`~exporter.errors.BlobNotFound`, a bad key
    :class:`~exporter.errors.InvalidBlobKeyError`; a backend's own exceptions never
    escape.
    """

    def open_writer(
        self, key: str, *, durable: bool = True
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A stream to write the blob into. The blob is stored, replacing any blob
        under ``key``, when the block ends; if the block raises, nothing is stored and
        a blob already under ``key`` is left as it was. Readers never see a partial
        blob.

        With ``durable=False`` the store may leave the blob to survive a crash only
        once :meth:`sync` has been called for it: several blobs written in a row then
        cost one wait for the disk instead of one each."""
        ...

    def sync(self, keys: Iterable[str]) -> None:
        """Make blobs written with ``durable=False`` survive a crash of the machine."""
        ...

    def open_reader(
        self, key: str, start: int = 0, end: int | None = None
    ) -> contextlib.AbstractContextManager[IO[bytes]]:
        """A stream of the blob's bytes ``[start, end)``, read as it is consumed; see
        :mod:`exporter.storage.ranges` for the range rules."""
        ...

    def size(self, key: str) -> int:
        """The blob's size in bytes."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """The blobs whose keys start with ``prefix``, sorted by key."""
        ...
