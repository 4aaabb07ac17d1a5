"""Blob storage: where packages and staged data are kept, always age-encrypted.

One contract (:class:`BlobStore`) with two implementations: a local directory
(:class:`LocalBlobStore`, the embedded default) and S3 or any S3-compatible server
(:class:`S3BlobStore`), chosen by one URL setting (:func:`blob_store_from_url`).
:class:`BlobStage` stages the pipeline's streams in a store, encrypted to the vault
key, so collect and assemble jobs may run on different machines. Stores never see
plaintext: everything is encrypted before it is handed to them. See docs/storage.md.
"""

from __future__ import annotations

from exporter.errors import (
    BlobNotFound,
    InvalidBlobKeyError,
    PermanentStorageError,
    RangeNotSatisfiableError,
    RetryableStorageError,
    StorageError,
)
from exporter.storage.base import BlobInfo, BlobStore
from exporter.storage.local import LocalBlobStore
from exporter.storage.names import check_key, check_prefix
from exporter.storage.s3 import DEFAULT_PART_SIZE, MIN_PART_SIZE, S3BlobStore
from exporter.storage.stage import BlobStage
from exporter.storage.url import S3_URL_OPTIONS, blob_store_from_url

__all__ = [
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "S3_URL_OPTIONS",
    "BlobInfo",
    "BlobNotFound",
    "BlobStage",
    "BlobStore",
    "InvalidBlobKeyError",
    "LocalBlobStore",
    "PermanentStorageError",
    "RangeNotSatisfiableError",
    "RetryableStorageError",
    "S3BlobStore",
    "StorageError",
    "blob_store_from_url",
    "check_key",
    "check_prefix",
]
