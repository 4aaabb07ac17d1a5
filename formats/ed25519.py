"""Ed25519 (RFC 8032, "pure" Ed25519) over a message read in pieces, in fixed memory.

Ed25519 hashes the message twice, and the second hash needs the first one's result,
so a signer reads the message twice: :func:`sign_stream` takes a function that gives
a fresh iterator over the message each time it is called. A verifier reads it once
(:class:`StreamVerifier`). The signatures are the ones any Ed25519 library makes and
checks for the same message; only the memory needed differs. The curve arithmetic is
libsodium's (through PyNaCl's bindings).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

from nacl import bindings
from nacl.exceptions import RuntimeError as NaclRuntimeError

__all__ = ["SIGNATURE_SIZE", "MessageChanged", "StreamVerifier", "public_key_of", "sign_stream"]

SIGNATURE_SIZE = 64


class MessageChanged(ValueError):
    """The two passes of :func:`sign_stream` read different bytes; nothing was signed."""

_L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point


def _reduce(digest: bytes) -> bytes:
    reduced: bytes = bindings.crypto_core_ed25519_scalar_reduce(digest)
    return reduced


def _expand(seed: bytes) -> tuple[bytes, bytes]:
    """The secret scalar (reduced) and the nonce prefix of a 32-byte seed."""
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    digest = hashlib.sha512(seed).digest()
    scalar = bytearray(digest[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    return _reduce(bytes(scalar) + bytes(32)), digest[32:]


def public_key_of(seed: bytes) -> bytes:
    scalar, _ = _expand(seed)
    point: bytes = bindings.crypto_scalarmult_ed25519_base_noclamp(scalar)
    return point


def sign_stream(seed: bytes, message: Callable[[], Iterable[bytes]]) -> bytes:
    """The Ed25519 signature of the concatenated pieces ``message()`` yields.

    ``message`` is called twice and must yield the same bytes both times. If the second
    pass differs, :class:`MessageChanged` is raised and nothing is signed: a signature whose
    nonce came from other bytes than its challenge shares its nonce with the signature of
    the first pass's bytes, and the two together give the secret scalar away.
    """
    scalar, prefix = _expand(seed)
    public: bytes = bindings.crypto_scalarmult_ed25519_base_noclamp(scalar)
    nonce_hash = hashlib.sha512(prefix)
    for piece in message():
        nonce_hash.update(piece)
    nonce_digest = nonce_hash.digest()
    nonce = _reduce(nonce_digest)
    r_point: bytes = bindings.crypto_scalarmult_ed25519_base_noclamp(nonce)
    nonce_again = hashlib.sha512(prefix)
    challenge_hash = hashlib.sha512(r_point + public)
    for piece in message():
        nonce_again.update(piece)
        challenge_hash.update(piece)
    if not hmac.compare_digest(nonce_again.digest(), nonce_digest):
        raise MessageChanged("the message changed between the two passes of signing")
    challenge = _reduce(challenge_hash.digest())
    s: bytes = bindings.crypto_core_ed25519_scalar_add(
        nonce, bindings.crypto_core_ed25519_scalar_mul(challenge, scalar)
    )
    return r_point + s


class StreamVerifier:
    """Checks one signature by one public key over a message fed with :meth:`update`."""

    def __init__(self, public_key: bytes, signature: bytes) -> None:
        self._ok_form = (
            len(public_key) == 32
            and len(signature) == SIGNATURE_SIZE
            and int.from_bytes(signature[32:], "little") < _L
            and bool(bindings.crypto_core_ed25519_is_valid_point(public_key))
            and bool(bindings.crypto_core_ed25519_is_valid_point(signature[:32]))
        )
        self._public, self._signature = public_key, signature
        self._hash = hashlib.sha512(signature[:32] + public_key)

    def update(self, piece: bytes | memoryview) -> None:
        self._hash.update(piece)

    def valid(self) -> bool:
        """Whether the signature holds for everything fed so far."""
        if not self._ok_form:
            return False
        challenge = _reduce(self._hash.digest())
        try:
            expected = bindings.crypto_core_ed25519_add(
                self._signature[:32],
                bindings.crypto_scalarmult_ed25519_noclamp(challenge, self._public),
            )
            actual = bindings.crypto_scalarmult_ed25519_base_noclamp(self._signature[32:])
        except NaclRuntimeError:  # a product at the identity: not a valid signature
            return False
        return bool(expected == actual)
