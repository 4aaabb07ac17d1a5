"""Staging in a blob store, so collect jobs and the assemble job may run on different
machines.

Each staged stream (a dataset's records, CSV rows or summary) is one blob,
``<prefix><name>.age``, age-encrypted to the keyring's current vault recipient and
read back with any of its vault identities (so a key rotation between collect and
assemble does no harm). Nothing reaches the store unencrypted: without a vault
identity the stage refuses to be made.

Blobs are written without waiting for the disk each time; :meth:`BlobStage.sync` makes
everything written so far durable at once, and the collect job calls it before it
records the source as collected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

from exporter.errors import KeyringError
from exporter.keys import Keyring
from exporter.pipeline.stage import check_name
from exporter.storage.base import BlobStore
from exporter.storage.names import check_prefix
from formats import age

__all__ = ["BlobStage"]


class BlobStage:
    """The pipeline's :class:`~exporter.pipeline.stage.Stage` on a blob store.

    ``prefix`` is where this request's streams go, e.g. ``stage/<request id>/``
    (a trailing ``/`` is added if missing); :meth:`clear` deletes all of it.
    """

    def __init__(self, store: BlobStore, prefix: str, keyring: Keyring) -> None:
        if not keyring.vault_identities:
            raise KeyringError(
                f"{keyring.directory}: no vault identity to encrypt staged data to; "
                f"run `egnedata keys generate --dir {keyring.directory}`"
            )
        prefix = check_prefix(prefix)
        if not prefix:
            raise ValueError("a stage needs a prefix of its own (e.g. stage/<request id>/)")
        self.store = store
        self.prefix = prefix if prefix.endswith("/") else f"{prefix}/"
        self._recipient = keyring.current_recipient
        self._identities = keyring.vault_identities
        self._unsynced: dict[str, None] = {}

    def _key(self, name: str) -> str:
        return f"{self.prefix}{check_name(name)}.age"

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[IO[bytes]]:
        key = self._key(name)
        with (self.store.open_writer(key, durable=False) as raw,
              age.encrypt_stream(raw, [self._recipient]) as out):
            yield out
        self._unsynced[key] = None

    def sync(self) -> None:
        """Make every blob written so far survive a crash (one wait for the disk)."""
        self.store.sync(list(self._unsynced))
        self._unsynced.clear()

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        with self.store.open_reader(self._key(name)) as raw:
            stream = age.decrypt_stream(raw, self._identities)
            try:
                yield stream
            finally:
                stream.close()

    def discard(self, name: str) -> None:
        key = self._key(name)
        self.store.delete(key)
        self._unsynced.pop(key, None)

    def clear(self) -> None:
        """Delete every blob under the prefix (after the package is assembled)."""
        for key in [info.key for info in self.store.list(self.prefix)]:
            self.store.delete(key)
