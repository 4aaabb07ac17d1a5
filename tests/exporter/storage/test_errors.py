"""Backend failures become the project's storage errors, with retryable ones marked."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from exporter.errors import EgneDataError
from exporter.storage import (
    BlobNotFound,
    PermanentStorageError,
    RangeNotSatisfiableError,
    RetryableStorageError,
    StorageError,
)
from exporter.storage.local import _FileSink
from exporter.storage.s3_errors import storage_error


def client_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "body text that must not be repeated"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (client_error("NoSuchKey", 404), BlobNotFound),
        (client_error("404", 404), BlobNotFound),
        (client_error("InvalidRange", 416), RangeNotSatisfiableError),
        (client_error("SlowDown", 503), RetryableStorageError),
        (client_error("InternalError", 500), RetryableStorageError),
        (client_error("", 502), RetryableStorageError),
        (client_error("RequestTimeout", 400), RetryableStorageError),
        (client_error("TooManyRequests", 429), RetryableStorageError),
        (client_error("AccessDenied", 403), PermanentStorageError),
        (client_error("NoSuchBucket", 404), PermanentStorageError),
        (EndpointConnectionError(endpoint_url="http://s3"), RetryableStorageError),
        (ReadTimeoutError(endpoint_url="http://s3"), RetryableStorageError),
        (ConnectionResetError(104, "reset"), RetryableStorageError),
        (NoCredentialsError(), PermanentStorageError),
    ],
)
def test_s3_errors(exc: Exception, kind: type[StorageError]) -> None:
    error = storage_error(exc, "read", "packages/a.zip.age")
    assert type(error) is kind
    assert isinstance(error, EgneDataError)
    assert "packages/a.zip.age" in str(error)
    assert "must not be repeated" not in str(error)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_retryable() -> None:
    sink = _FileSink(os.open("/dev/full", os.O_WRONLY), "k")
    with pytest.raises(RetryableStorageError, match="cannot write blob 'k'"):
        io.BufferedWriter(sink).write(b"x" * 1_000_000)
    sink.close()
