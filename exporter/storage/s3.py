"""A blob store in an S3 bucket: AWS, or any S3-compatible endpoint (MinIO, Ceph, ...).

The key ``packages/x.zip.age`` is the object ``<prefix>packages/x.zip.age``. Writes
stream as multipart uploads (:mod:`exporter.storage.s3_upload`), reads stream the
response body, with HTTP ``Range`` requests for parts of a blob. Credentials come
from where boto3 looks for them: the ``AWS_*`` environment variables, the shared
config and credentials files, or the instance's role.

What is stored is age-encrypted before it gets here; server-side encryption (SSE-S3,
SSE-KMS) may be turned on for the bucket as well, but it protects against a
different thing (the provider's disks) and is no substitute.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import IO, Any, cast

import boto3
from botocore.config import Config

from exporter.errors import BlobNotFound, InvalidBlobKeyError
from exporter.storage.base import BlobInfo
from exporter.storage.names import check_key, check_prefix
from exporter.storage.ranges import RangeReader, buffered, http_range
from exporter.storage.s3_errors import S3_ERRORS, storage_error
from exporter.storage.s3_upload import MultipartWriter

__all__ = ["DEFAULT_PART_SIZE", "MIN_PART_SIZE", "S3BlobStore"]

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * 1024 * MiB
DEFAULT_PART_SIZE = 8 * MiB


def _client(endpoint_url: str | None, region: str | None) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        # Most S3-compatible servers answer path-style requests, not virtual hosts.
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    session = boto3.session.Session()  # clients are thread-safe; sessions are not
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


class S3BlobStore:
    """Blobs as objects in ``bucket`` under ``prefix``."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be 5 MiB to 5 GiB, not {part_size}")
        if not bucket:
            raise ValueError("no bucket given")
        prefix = check_prefix(prefix.strip("/"))
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.part_size = part_size
        self._client = client if client is not None else _client(endpoint_url, region)
        # Declare the checksum boto3 would add to every part, as its transfer manager does.
        calculation = getattr(self._client.meta.config, "request_checksum_calculation", None)
        self._checksum = "CRC32" if calculation == "when_supported" else None

    def __repr__(self) -> str:
        return f"S3BlobStore({self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, action: str, key: str, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **params)
        except S3_ERRORS as exc:
            raise storage_error(exc, action, key) from exc

    @contextlib.contextmanager
    def open_writer(self, key: str, *, durable: bool = True) -> Iterator[IO[bytes]]:
        # A completed upload is durable: S3 has nothing to defer.
        upload = MultipartWriter(
            self._client, self.bucket, self._name(key), key, self.part_size, self._checksum
        )
        try:
            yield cast(IO[bytes], upload)
        except BaseException:
            upload.abort()
            raise
        try:
            upload.commit()
        except BaseException:
            upload.abort()
            raise

    def sync(self, keys: Iterable[str]) -> None:
        """Nothing to do: every completed upload is already durable."""

    @contextlib.contextmanager
    def open_reader(self, key: str, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
        params: dict[str, Any] = {"Key": self._name(key)}
        header = http_range(start, end)
        if header is not None:
            params["Range"] = header
        response = self._call("read", key, "get_object", **params)
        body = response["Body"]

        def read(size: int) -> bytes:
            try:
                return cast(bytes, body.read(size))
            except S3_ERRORS as exc:
                raise storage_error(exc, "read", key) from exc

        reader = buffered(RangeReader(read, int(response["ContentLength"]), body.close, key))
        try:
            yield reader
        finally:
            reader.close()

    def size(self, key: str) -> int:
        return int(self._call("look up", key, "head_object", Key=self._name(key))["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete", key, "delete_object", Key=self._name(key))

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Objects under the store's prefix whose names are not valid keys (put there
        by something else) are left out."""
        check_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self.prefix) :]
                    try:
                        check_key(key)
                    except InvalidBlobKeyError:
                        continue
                    yield BlobInfo(key, int(item["Size"]), item["LastModified"].astimezone(UTC))
        except S3_ERRORS as exc:
            raise storage_error(exc, "list", prefix or "*") from exc
