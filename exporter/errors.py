"""The project's errors.

The tree::

    EgneDataError                   root of everything the exporter raises on purpose
    ├── ProfileError                a municipality profile is wrong (names file and key)
    ├── InvalidCprError             a CPR number is malformed or impossible
    ├── KeyringError                a key is missing, unreadable or too open (fail closed)
    ├── SourceError                 a source could not be read
    │   ├── RetryableSourceError    worth trying again: timeouts, 5xx, 429, connection
    │   └── PermanentSourceError    will fail the same way again: 4xx, bad config
    └── StorageError                the blob store failed
        ├── BlobNotFound            no blob under that key
        ├── RetryableStorageError   worth trying again: timeouts, throttling, 5xx,
        │                           connection, a full or busy disk
        └── PermanentStorageError   will fail the same way again: access denied, no
            │                       such bucket, bad credentials
            ├── InvalidBlobKeyError       a key breaks the naming rules (a ValueError)
            └── RangeNotSatisfiableError  a read starts at or past the end of a blob

Errors in the package formats themselves are ``formats.errors.FormatError``.
"""

from __future__ import annotations

__all__ = [
    "BlobNotFound",
    "EgneDataError",
    "InvalidBlobKeyError",
    "InvalidCprError",
    "KeyringError",
    "PermanentSourceError",
    "PermanentStorageError",
    "ProfileError",
    "RangeNotSatisfiableError",
    "RetryableSourceError",
    "RetryableStorageError",
    "SourceError",
    "StorageError",
]


class EgneDataError(Exception):
    """Base class for the exporter's own errors."""


class ProfileError(EgneDataError):
    """A municipality profile could not be loaded; the message names file and key."""


class InvalidCprError(EgneDataError, ValueError):
    """A CPR number is malformed or names an impossible date."""


class KeyringError(EgneDataError):
    """A key needed to sign or encrypt is missing or unusable; nothing is written."""


class SourceError(EgneDataError):
    """A source system could not be read."""


class RetryableSourceError(SourceError):
    """A source failed in a way that may pass: timeout, 5xx, 429, connection refused.

    ``retry_after`` is the source's own hint, in seconds, of when to try again (an HTTP
    ``Retry-After``); the pipeline waits that long instead of its own backoff, within
    the source's time limit.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSourceError(SourceError):
    """A source failed in a way that will repeat: bad request, bad config, 4xx."""


class StorageError(EgneDataError):
    """The blob store failed; the message names the operation and the key."""


class BlobNotFound(StorageError):
    """No blob is stored under the key."""


class RetryableStorageError(StorageError):
    """The store failed in a way that may pass: timeout, throttling, 5xx, connection."""


class PermanentStorageError(StorageError):
    """The store failed in a way that will repeat: access denied, no bucket, bad key."""


class InvalidBlobKeyError(PermanentStorageError, ValueError):
    """A blob key breaks the naming rules (see :mod:`exporter.storage.names`)."""


class RangeNotSatisfiableError(PermanentStorageError):
    """A byte range starts at or past the end of the blob (HTTP 416)."""
