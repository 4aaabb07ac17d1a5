"""Reading an HTTP answer: classifying failures, Retry-After, finding the records.

Messages name the host, the status and the kind of failure, never the URL (it may hold
the subject's CPR number) or the body (it holds their data).
"""

from __future__ import annotations

import email.utils
import ssl
import time
from typing import Any

import httpx
import orjson

from exporter.errors import PermanentSourceError, RetryableSourceError, SourceError

__all__ = [
    "MAX_RETRY_AFTER",
    "read_json",
    "records_at",
    "retry_after",
    "status_error",
    "transport_error",
    "value_at",
]

MAX_RETRY_AFTER = 3600.0
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_REFUSING_ALERTS = frozenset({
    "ACCESS_DENIED",
    "BAD_CERTIFICATE",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_REQUIRED",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_UNKNOWN",
    "HANDSHAKE_FAILURE",
    "INSUFFICIENT_SECURITY",
    "PROTOCOL_VERSION",
    "UNKNOWN_CA",
    "UNSUPPORTED_CERTIFICATE",
})
"""TLS alerts by which a source refuses this client: its certificate, or none, or the
protocol. Trying again changes nothing."""


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _tls_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx error (httpx wraps httpcore's, which wraps it)."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, ssl.SSLError):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


def _tls_refusal(exc: BaseException, host: str) -> PermanentSourceError | None:
    """A permanent error if ``exc`` is a TLS handshake either side refused, else None.

    The message has the certificate check's outcome or the alert's name, nothing else.
    """
    tls = _tls_error(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        reason = tls.verify_message or "verification failed"
        return PermanentSourceError(f"{host}'s TLS certificate is not trusted ({reason})")
    alert = (getattr(tls, "reason", None) or "").partition("_ALERT_")[2]
    if alert in _REFUSING_ALERTS:
        what = alert.lower().replace("_", " ")
        return PermanentSourceError(f"{host} refused the TLS connection ({what})")
    return None


def transport_error(exc: httpx.HTTPError, host: str) -> SourceError:
    refused = _tls_refusal(exc, host)
    if refused is not None:
        return refused
    if isinstance(exc, httpx.TimeoutException):
        return RetryableSourceError(f"{host} did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return RetryableSourceError(f"cannot reach {host} ({type(exc).__name__})")
    return PermanentSourceError(f"request to {host} failed ({type(exc).__name__})")


def status_error(response: httpx.Response, host: str) -> SourceError:
    status = response.status_code
    if status in _RETRY_STATUSES or status >= 500:
        return RetryableSourceError(
            f"{host} answered HTTP {status}",
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        return PermanentSourceError(f"{host} refused the credentials (HTTP {status})")
    return PermanentSourceError(f"{host} answered HTTP {status}")


def read_json(response: httpx.Response, host: str, limit: int) -> Any:
    """The body as JSON, read at most ``limit`` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PermanentSourceError(f"{host} sent an answer larger than max_response_bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise PermanentSourceError(f"{host} sent an answer larger than max_response_bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise PermanentSourceError(f"{host} did not answer with JSON") from None


def records_at(body: Any, path: str, host: str) -> list[Any]:
    """The list of records at the dotted ``path`` in the answer (the answer itself if "")."""
    node = body
    for part in path.split(".") if path else ():
        if not isinstance(node, dict) or part not in node:
            raise PermanentSourceError(f"{host}'s answer has no {path!r}")
        node = node[part]
    if node is None:
        return []
    if not isinstance(node, list):
        raise PermanentSourceError(f"{host}'s answer has no list of records at {path!r}")
    return node


def value_at(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
