"""boto3's exceptions, translated into the project's storage errors."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from exporter.errors import (
    BlobNotFound,
    PermanentStorageError,
    RangeNotSatisfiableError,
    RetryableStorageError,
    StorageError,
)

__all__ = ["S3_ERRORS", "storage_error"]

# What a call to boto3 (or a read of a response body) may raise.
S3_ERRORS = (BotoCoreError, ClientError, Urllib3Error, OSError)

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_RETRYABLE_CODES = {
    "InternalError",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
}


def storage_error(exc: BaseException, action: str, key: str) -> StorageError:
    """The storage error for ``exc``, raised by S3 while doing ``action`` to ``key``.

    The message carries S3's error code, never the response body.
    """
    where = f"cannot {action} blob {key!r} in S3"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        detail = code or f"HTTP {status}"
        if code in _NOT_FOUND:
            return BlobNotFound(f"no blob {key!r}")
        if code == "InvalidRange" or status == 416:
            return RangeNotSatisfiableError(f"{where}: the range is not satisfiable ({detail})")
        if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
            return RetryableStorageError(f"{where}: {detail}")
        return PermanentStorageError(f"{where}: {detail}")
    if isinstance(exc, ConnectionError | HTTPClientError | IncompleteReadError | Urllib3Error):
        return RetryableStorageError(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return RetryableStorageError(f"{where}: {type(exc).__name__}: {exc.strerror or exc}")
    # NoCredentialsError, ParamValidationError and the like: configuration.
    return PermanentStorageError(f"{where}: {type(exc).__name__}: {exc}")
