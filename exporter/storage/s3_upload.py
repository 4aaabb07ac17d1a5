"""Streaming an object into S3: a multipart upload, one part in memory at a time.

Bytes collect in a buffer of one part; each full part is uploaded as it fills, so a
blob of any size costs one part of memory. A blob smaller than a part is sent with a
single ``PutObject``. Until ``CompleteMultipartUpload`` nothing is visible under the
key, and on failure the upload is aborted so no parts are left to be billed for.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from exporter.errors import PermanentStorageError
from exporter.storage.s3_errors import S3_ERRORS, storage_error

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["MAX_PARTS", "MultipartWriter"]

MAX_PARTS = 10_000  # S3's limit
log = logging.getLogger(__name__)


class MultipartWriter(io.RawIOBase):
    """A writable stream into the object ``name``; :meth:`commit` or :meth:`abort` ends it.

    ``checksum`` is the flexible checksum algorithm to declare for the upload (what
    boto3's own transfer manager declares), or None.
    """

    def __init__(
        self, client: Any, bucket: str, name: str, key: str, part_size: int, checksum: str | None
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._name = name
        self._key = key
        self._part_size = part_size
        self._checksum = checksum
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            room = self._part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == self._part_size:
                self._send_part()
        return size

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(Bucket=self._bucket, Key=self._name, **params)
        except S3_ERRORS as exc:
            raise storage_error(exc, "write", self._key) from exc

    def _send_part(self) -> None:
        if len(self._parts) == MAX_PARTS:
            raise PermanentStorageError(
                f"cannot write blob {self._key!r}: more than {MAX_PARTS} parts; "
                "use a larger part size"
            )
        if self._upload_id is None:
            extra = {"ChecksumAlgorithm": self._checksum} if self._checksum else {}
            self._upload_id = self._call("create_multipart_upload", **extra)["UploadId"]
        number = len(self._parts) + 1
        response = self._call(
            "upload_part", UploadId=self._upload_id, PartNumber=number, Body=self._buffer
        )
        part = {"ETag": response["ETag"], "PartNumber": number}
        member = f"Checksum{self._checksum}"
        if self._checksum and member in response:
            part[member] = response[member]
        self._parts.append(part)
        self._buffer = bytearray()

    def commit(self) -> None:
        """Store the object: everything written becomes visible at once."""
        if self._upload_id is None:
            self._call("put_object", Body=self._buffer)
        else:
            if self._buffer:
                self._send_part()
            self._call(
                "complete_multipart_upload",
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer = bytearray()
        self.close()

    def abort(self) -> None:
        """Drop what was written; never raises, so the caller's error is the one seen."""
        self._buffer = bytearray()
        self.close()
        if self._upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._name, UploadId=self._upload_id
            )
        except S3_ERRORS as exc:
            # A bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it later.
            log.warning("could not abort the multipart upload of a blob: %s", type(exc).__name__)
