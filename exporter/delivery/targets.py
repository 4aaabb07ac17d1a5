"""How a delivery's bytes reach a service: a signed webhook POST, or an S3 bucket.

A target is a small Protocol: given an :class:`Outgoing` (what to send, read as a
stream of pieces) it makes one attempt and says how it went (:class:`Outcome`). The
deliver job owns leases, retries and the state machine; targets hold no state beyond a
shared HTTP connection pool. Built-ins are listed in :data:`TARGETS`.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
import httpx
import orjson
from botocore.config import Config

from exporter.delivery.registry import S3Credentials
from exporter.errors import PermanentStorageError, StorageError
from exporter.storage import S3BlobStore
from formats import minisign, webhooks
from formats.ed25519 import MessageChanged

__all__ = ["TARGETS", "Outcome", "Outgoing", "S3Target", "Target", "WebhookTarget"]

_RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outgoing:
    """One attempt's input. ``body()`` yields the whole body afresh on every call;
    ``check()`` raises if the delivery may no longer be sent, and a target calls it
    right before the first byte leaves."""

    delivery_id: str
    package_id: str
    size: int
    body: Callable[[], Iterable[bytes]]
    signing_key: minisign.SigningKey
    check: Callable[[], None]
    timeout: float
    webhook_url: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_credentials: S3Credentials | None = None
    receipt_fields: dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    name: str = ""
    """The object's name in a bucket; ``<delivery id>.zip.age`` when empty."""


@dataclass(frozen=True)
class Outcome:
    """``delivered``, ``retry`` (worth trying again) or ``failed`` (it will not work)."""

    result: str
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    bytes_sent: int = 0
    sha256: str | None = None


class Target(Protocol):
    def send(self, outgoing: Outgoing) -> Outcome: ...


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@functools.cache
def _client(timeout: float) -> httpx.Client:
    # One pool per process and timeout: deliveries to the same service reuse connections.
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))


class _Counter:
    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces, self.sent = pieces, 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            self.sent += len(piece)
            yield piece


class WebhookTarget:
    """POSTs the age file with Standard Webhooks headers and a Content-Digest."""

    def send(self, outgoing: Outgoing) -> Outcome:
        assert outgoing.webhook_url is not None
        sha256 = hashlib.sha256()
        passes = 0

        def signed_body() -> Iterator[bytes]:
            nonlocal passes
            passes += 1
            first = passes == 1
            for piece in outgoing.body():
                if first:
                    sha256.update(piece)
                yield piece

        timestamp = int(time.time())
        try:
            signature = webhooks.sign(outgoing.signing_key.seed, outgoing.delivery_id,
                                      timestamp, signed_body)
        except MessageChanged:
            # The package blob read differently twice: nothing was signed; try again.
            return Outcome("retry", error="the package changed while it was being signed")
        digest = sha256.digest()
        headers = {
            "content-type": outgoing.content_type,
            "content-length": str(outgoing.size),
            webhooks.HEADER_ID: outgoing.delivery_id,
            webhooks.HEADER_TIMESTAMP: str(timestamp),
            webhooks.HEADER_SIGNATURE: signature,
            webhooks.HEADER_DIGEST: webhooks.content_digest(digest),
            "user-agent": "egnedata-delivery/1",
        }
        body = _Counter(outgoing.body())
        outgoing.check()
        try:
            response = _client(outgoing.timeout).post(outgoing.webhook_url, content=body,
                                                      headers=headers)
            response.read()
        except httpx.TimeoutException:
            return Outcome("retry", error="timeout", bytes_sent=body.sent, sha256=digest.hex())
        except httpx.TransportError as exc:
            return Outcome("retry", error=f"unreachable: {type(exc).__name__}",
                           bytes_sent=body.sent, sha256=digest.hex())
        status = response.status_code
        common: dict[str, Any] = {"status_code": status, "bytes_sent": body.sent,
                                  "sha256": digest.hex()}
        if 200 <= status < 300:
            return Outcome("delivered", **common)
        retry_after = retry_after_seconds(response.headers.get("retry-after"), time.time())
        if status >= 500 or status in _RETRYABLE_STATUS:
            return Outcome("retry", error=f"HTTP {status}", retry_after=retry_after, **common)
        return Outcome("failed", error=f"HTTP {status}: the service refused the delivery",
                       **common)


def _s3_client(outgoing: Outgoing) -> Any:
    credentials = outgoing.s3_credentials
    keys: dict[str, Any] = {}
    if credentials is not None:
        keys = {"aws_access_key_id": credentials.access_key_id,
                "aws_secret_access_key": credentials.secret_access_key,
                "aws_session_token": credentials.session_token}
    config = Config(retries={"mode": "standard", "max_attempts": 2},
                    connect_timeout=outgoing.timeout, read_timeout=outgoing.timeout,
                    s3={"addressing_style": "path"} if outgoing.s3_endpoint_url else None)
    return boto3.session.Session().client(
        "s3", endpoint_url=outgoing.s3_endpoint_url, region_name=outgoing.s3_region,
        config=config, **keys)


class S3Target:
    """Writes ``<delivery id>.zip.age`` (or ``outgoing.name``) to the service's bucket,
    then a signed receipt beside it (``.receipt.json`` and ``.receipt.json.minisig``);
    same keys on a retry."""

    def send(self, outgoing: Outgoing) -> Outcome:
        assert outgoing.s3_bucket is not None
        store = S3BlobStore(outgoing.s3_bucket, prefix=outgoing.s3_prefix,
                            client=_s3_client(outgoing))
        name = outgoing.name or f"{outgoing.delivery_id}.zip.age"
        sha256 = hashlib.sha256()
        sent = 0
        outgoing.check()
        try:
            with store.open_writer(name) as out:
                for piece in outgoing.body():
                    sha256.update(piece)
                    out.write(piece)
                    sent += len(piece)
            receipt = {
                **outgoing.receipt_fields,
                "delivery": outgoing.delivery_id,
                "package": outgoing.package_id,
                "object": store.prefix + name,
                "size": sent,
                "sha256": sha256.hexdigest(),
                "delivered_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "signing_key_id": outgoing.signing_key.key_id,
            }
            text = orjson.dumps(receipt, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
            text += b"\n"
            signature = minisign.sign(text, outgoing.signing_key,
                                      trusted_comment=f"egnedata delivery {outgoing.delivery_id}")
            with store.open_writer(f"{name}.receipt.json") as out:
                out.write(text)
            with store.open_writer(f"{name}.receipt.json.minisig") as out:
                out.write(signature.encode("utf-8"))
        except PermanentStorageError as exc:
            return Outcome("failed", error=f"the bucket refused: {exc}", bytes_sent=sent)
        except StorageError as exc:
            return Outcome("retry", error=f"the bucket failed: {exc}", bytes_sent=sent)
        return Outcome("delivered", bytes_sent=sent, sha256=sha256.hexdigest())


TARGETS: dict[str, Target] = {"webhook": WebhookTarget(), "s3": S3Target()}
