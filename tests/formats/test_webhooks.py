"""Standard Webhooks v1a signatures and Content-Digest: what a receiver must refuse."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from nacl.signing import SigningKey

from formats import webhooks
from formats.ed25519 import StreamVerifier, public_key_of, sign_stream

SEED = bytes(range(32))
PUBLIC = public_key_of(SEED)
BODY = os.urandom(300_000)


def _headers(body: bytes = BODY, *, msg_id: str = "d-1", timestamp: int = 1_800_000_000,
             seed: bytes = SEED) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(seed, msg_id, timestamp, lambda: [body[:7], body[7:]]),
        "content-digest": webhooks.content_digest(hashlib.sha256(body).digest()),
    }


def _check(headers: dict[str, str], body: bytes = BODY, now: float = 1_800_000_010) -> bytes:
    verifier = webhooks.WebhookVerifier(headers, [PUBLIC], now=now)
    for start in range(0, len(body), 65536):
        verifier.update(body[start:start + 65536])
    return verifier.finish()


@pytest.mark.parametrize("size", [0, 1, 64, 1000, 200_000])
def test_streaming_ed25519_is_plain_ed25519(size: int) -> None:
    message = os.urandom(size)
    key = SigningKey(SEED)
    assert sign_stream(SEED, lambda: [message]) == key.sign(message).signature
    check = StreamVerifier(bytes(key.verify_key), key.sign(message).signature)
    check.update(message)
    assert check.valid()


def test_the_signature_is_standard_webhooks_v1a_over_id_timestamp_body() -> None:
    headers = _headers()
    version, _, encoded = headers["webhook-signature"].partition(",")
    assert version == "v1a"
    signed = b"d-1.1800000000." + BODY
    SigningKey(SEED).verify_key.verify(signed, base64.b64decode(encoded))
    assert _check(headers) == hashlib.sha256(BODY).digest()


def test_a_tampered_body_is_refused() -> None:
    tampered = bytearray(BODY)
    tampered[1000] ^= 1
    with pytest.raises(webhooks.DigestMismatch):
        _check(_headers(), bytes(tampered))
    # even with a digest that matches the tampered body, the signature does not
    headers = _headers()
    headers["content-digest"] = webhooks.content_digest(hashlib.sha256(tampered).digest())
    with pytest.raises(webhooks.BadSignature):
        _check(headers, bytes(tampered))


def test_a_signature_by_another_key_is_refused() -> None:
    with pytest.raises(webhooks.BadSignature):
        _check(_headers(seed=os.urandom(32)))


def test_a_signature_for_another_id_or_time_is_refused() -> None:
    headers = _headers()
    headers["webhook-id"] = "d-2"
    with pytest.raises(webhooks.BadSignature):
        _check(headers)
    headers = _headers()
    headers["webhook-timestamp"] = "1800000001"
    with pytest.raises(webhooks.BadSignature):
        _check(headers)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_an_old_or_future_timestamp_is_refused(offset: int) -> None:
    headers = _headers(timestamp=1_800_000_000 + offset)
    with pytest.raises(webhooks.StaleTimestamp):
        _check(headers, now=1_800_000_000)


@pytest.mark.parametrize("header,value", [
    ("webhook-id", ""), ("webhook-id", "a b"), ("webhook-timestamp", "soon"),
    ("webhook-signature", "v1,abc"), ("webhook-signature", "v1a,!!"),
    ("content-digest", "sha-512=:AAAA:"), ("content-digest", "sha-256=abc"),
])
def test_malformed_headers_are_refused(header: str, value: str) -> None:
    headers = _headers()
    headers[header] = value
    with pytest.raises(webhooks.MalformedHeaders):
        _check(headers)


def test_one_good_signature_among_several_is_enough() -> None:
    headers = _headers()
    other = _headers(seed=os.urandom(32))["webhook-signature"]
    headers["webhook-signature"] = f"v1,bm90LW91cnM= {other} {headers['webhook-signature']}"
    _check(headers)


def test_content_digest_round_trip_and_whpk() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert webhooks.parse_content_digest(
        "sha-512=:AAAA:, " + webhooks.content_digest(digest)) == digest
    assert webhooks.whpk(PUBLIC).startswith("whpk_")
    assert base64.b64decode(webhooks.whpk(PUBLIC)[5:]) == PUBLIC
