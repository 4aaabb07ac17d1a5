"""The primitives the age spec is built from ("Conventions used in this document").

HKDF-SHA-256 with 32-byte output, ChaCha20-Poly1305 (RFC 7539, via libsodium in
PyNaCl), and the spec's base64: standard alphabet, no ``=`` padding, canonical only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

# Importing nacl.bindings also runs sodium_init(), which selects libsodium's fastest
# code for this CPU; calls through nacl._sodium before that use the portable code.
from nacl import bindings
from nacl._sodium import ffi, lib
from nacl.exceptions import CryptoError

from formats.errors import AgeHeaderError

CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
ZERO_NONCE = bytes(12)

_B64_TEXT = re.compile(rb"[A-Za-z0-9+/]*")


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869), 32 bytes: one Expand block is all age ever needs."""
    prk = hmac.digest(salt or bytes(32), ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def seal(key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    sealed: bytes = bindings.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, None, nonce, key)
    return sealed


def open_sealed(key: bytes, nonce: bytes, sealed: bytes) -> bytes | None:
    """The plaintext, or None if authentication fails."""
    try:
        plaintext: bytes = bindings.crypto_aead_chacha20poly1305_ietf_decrypt(
            sealed, None, nonce, key
        )
    except CryptoError:
        return None
    return plaintext


def b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def b64decode(text: bytes, what: str) -> bytes:
    """Decode unpadded base64, refusing padding and non-canonical trailing bits."""
    if len(text) % 4 == 1 or not _B64_TEXT.fullmatch(text):
        raise AgeHeaderError(f"{what} is not valid unpadded base64")
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise AgeHeaderError(f"{what} is not valid unpadded base64") from None
    # Non-zero unused bits in the last character would let two encodings decode
    # to the same bytes; the spec makes decoders refuse them.
    if b64encode(data) != text:
        raise AgeHeaderError(f"{what} is not canonical base64")
    return data


class ChunkCipher:
    """Seals or opens payload chunks between preallocated buffers.

    PyNaCl's public wrappers allocate, zero and copy a fresh buffer on every call,
    which costs a fifth of the throughput at 64 KiB a chunk. The payload calls the
    same libsodium functions through PyNaCl's own cffi module instead, writing into
    buffers that are reused for the whole file.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a ChaCha20-Poly1305 key is 32 bytes")
        self._key = key

    def seal(self, out: Any, plaintext: Any, size: int, nonce: bytes) -> None:
        """Seal ``size`` bytes at ``plaintext`` into ``size + TAG`` bytes at ``out``."""
        lib.crypto_aead_chacha20poly1305_ietf_encrypt(
            out, ffi.NULL, plaintext, size, ffi.NULL, 0, ffi.NULL, nonce, self._key
        )

    def open(self, out: Any, sealed: Any, size: int, nonce: bytes) -> bool:
        """Open ``size`` sealed bytes into ``out``; False if authentication fails."""
        result: int = lib.crypto_aead_chacha20poly1305_ietf_decrypt(
            out, ffi.NULL, ffi.NULL, sealed, size, ffi.NULL, 0, nonce, self._key
        )
        return result == 0


def buffer_pointer(buffer: bytearray) -> Any:
    """A C pointer to ``buffer``; the bytearray must not be resized while it is used."""
    return ffi.from_buffer(buffer)
