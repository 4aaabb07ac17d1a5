"""Signed webhook deliveries: Standard Webhooks headers with Ed25519 (``v1a``) and an
RFC 9530 ``Content-Digest``. Pure logic, no HTTP: the sender and any receiver use it.

A delivery is a POST whose body is an age file, with these headers::

    webhook-id: <delivery id>             the same on every retry: the idempotency key
    webhook-timestamp: <unix seconds>     when this attempt was signed
    webhook-signature: v1a,<base64 sig>   Ed25519 over "{id}.{timestamp}.{body}"
    content-digest: sha-256=:<base64>:    SHA-256 of the body (RFC 9530)

A receiver checks, in this order: the headers are there and well formed; the
timestamp is within ``tolerance`` seconds of its clock (an old or future request is
refused, which bounds replays); then, while reading the body once, the digest and the
signature. A webhook id it has already accepted is not processed again (the receiver
keeps the ids; see docs/receiving.md). Every refusal is a :class:`WebhookError`:

    WebhookError
    ├── MalformedHeaders     a header is missing or not in the expected form
    ├── StaleTimestamp       outside the tolerance window
    ├── DigestMismatch       the body is not the one the digest names
    └── BadSignature         no signature by a trusted key covers id, timestamp and body

The public key is the municipality's Ed25519 signing key, the one in ``signing.pub``
(minisign format); :func:`whpk` gives Standard Webhooks' ``whpk_`` form of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from formats.ed25519 import StreamVerifier, sign_stream
from formats.errors import FormatError

__all__ = [
    "DEFAULT_TOLERANCE",
    "HEADER_DIGEST",
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "BadSignature",
    "DigestMismatch",
    "MalformedHeaders",
    "StaleTimestamp",
    "WebhookError",
    "WebhookVerifier",
    "content_digest",
    "parse_content_digest",
    "sign",
    "signed_prefix",
    "whpk",
]

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_DIGEST = "content-digest"
DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may be off (Standard Webhooks recommends five minutes)."""

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_MAX_SIGNATURES = 8


class WebhookError(FormatError):
    """A webhook request that must not be accepted."""


class MalformedHeaders(WebhookError):
    pass


class StaleTimestamp(WebhookError):
    pass


class DigestMismatch(WebhookError):
    pass


class BadSignature(WebhookError):
    pass


def signed_prefix(msg_id: str, timestamp: int) -> bytes:
    """What precedes the body in the signed content: ``{id}.{timestamp}.``."""
    if not _ID.fullmatch(msg_id):
        raise ValueError("a webhook id is 1 to 200 of A-Z a-z 0-9 _ . : -")
    return f"{msg_id}.{timestamp}.".encode("ascii")


def sign(seed: bytes, msg_id: str, timestamp: int, body: Callable[[], Iterable[bytes]]) -> str:
    """The ``webhook-signature`` value for a body that ``body()`` yields (twice)."""
    prefix = signed_prefix(msg_id, timestamp)

    def content() -> Iterable[bytes]:
        yield prefix
        yield from body()

    return "v1a," + base64.b64encode(sign_stream(seed, content)).decode("ascii")


def whpk(public_key: bytes) -> str:
    """Standard Webhooks' text form of an Ed25519 public key."""
    return "whpk_" + base64.b64encode(public_key).decode("ascii")


def content_digest(sha256: bytes) -> str:
    return f"sha-256=:{base64.b64encode(sha256).decode('ascii')}:"


def parse_content_digest(value: str) -> bytes:
    """The SHA-256 named in a ``Content-Digest`` header (other algorithms ignored)."""
    for member in value.split(","):
        name, _, rest = member.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        rest = rest.strip()
        if len(rest) < 2 or rest[0] != ":" or rest[-1] != ":":
            break
        try:
            digest = base64.b64decode(rest[1:-1], validate=True)
        except (binascii.Error, ValueError):
            break
        if len(digest) == 32:
            return digest
        break
    raise MalformedHeaders("content-digest: expected sha-256=:<base64 of 32 bytes>:")


def _signatures(value: str) -> list[bytes]:
    found = []
    for entry in value.split(" ")[:_MAX_SIGNATURES * 4]:
        version, _, encoded = entry.partition(",")
        if version != "v1a":
            continue  # v1 (HMAC) and unknown versions are not ours to check
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(signature) == 64:
            found.append(signature)
    if not found:
        raise MalformedHeaders("webhook-signature: no v1a,<base64 Ed25519 signature> entry")
    return found[:_MAX_SIGNATURES]


class WebhookVerifier:
    """Checks one webhook request: the headers at once, the body as it is read.

    ``headers`` maps lower-case names to values; ``public_keys`` are the trusted raw
    Ed25519 keys (more than one while the municipality rotates its key). Construction
    raises :class:`MalformedHeaders` or :class:`StaleTimestamp`; feed the body to
    :meth:`update` and call :meth:`finish`, which raises :class:`DigestMismatch` or
    :class:`BadSignature`.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        public_keys: Sequence[bytes],
        *,
        now: float,
        tolerance: int = DEFAULT_TOLERANCE,
    ) -> None:
        msg_id = headers.get(HEADER_ID, "")
        if not _ID.fullmatch(msg_id):
            raise MalformedHeaders("webhook-id: missing or not 1 to 200 of A-Z a-z 0-9 _ . : -")
        stamp = headers.get(HEADER_TIMESTAMP, "")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise MalformedHeaders("webhook-timestamp: missing or not whole seconds")
        timestamp = int(stamp)
        if abs(now - timestamp) > tolerance:
            raise StaleTimestamp(
                f"webhook-timestamp is {int(now - timestamp)} s off; at most {tolerance} allowed"
            )
        self.msg_id, self.timestamp = msg_id, timestamp
        self.expected_digest = parse_content_digest(headers.get(HEADER_DIGEST, ""))
        signatures = _signatures(headers.get(HEADER_SIGNATURE, ""))
        if not public_keys:
            raise ValueError("no trusted public key given")
        self._checks = [StreamVerifier(k, s) for s in signatures for k in public_keys]
        self._sha256 = hashlib.sha256()
        self.size = 0
        prefix = signed_prefix(msg_id, timestamp)
        for check in self._checks:
            check.update(prefix)

    def update(self, piece: bytes | memoryview) -> None:
        self._sha256.update(piece)
        self.size += len(piece)
        for check in self._checks:
            check.update(piece)

    def finish(self) -> bytes:
        """The body's SHA-256, once both the digest and a signature hold."""
        digest = self._sha256.digest()
        if digest != self.expected_digest:
            raise DigestMismatch("the body does not match its content-digest")
        if not any(check.valid() for check in self._checks):
            raise BadSignature("no valid v1a signature by a trusted key")
        return digest
