"""Ed25519 signatures in minisign format, and OpenBSD signify signed checksum files.

minisign (``.minisig``)::

    untrusted comment: <free text>
    base64("ED" + key id (8 bytes) + Ed25519(BLAKE2b-512(message)))
    trusted comment: <text, signed too>
    base64(Ed25519(signature + trusted comment))

signify ``-C`` checks a signed checksum file: an untrusted comment line, then
base64("Ed" + key id + Ed25519(message)), then the message (our ``SHA256SUMS``) itself.
Both tools read the same public key file: an untrusted comment line and
base64("Ed" + key id + public key). So ``minisign -Vm SHA256SUMS -p key.pub`` and
``signify -C -p key.pub -x SHA256SUMS.sig`` verify a package with no Egne Data code.

Secret keys are written in minisign's format, unencrypted (as ``minisign -W`` does):
the file is protected by its permissions, and ``minisign -S`` can use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey as _NaclSigningKey
from nacl.signing import VerifyKey

from formats.errors import SignatureError

__all__ = [
    "PublicKey",
    "SigningKey",
    "Verified",
    "sign",
    "sign_signify_embedded",
    "verify",
]

_UNTRUSTED = "untrusted comment: "
_TRUSTED = "trusted comment: "
_MAX_COMMENT = 1024


def _key_id_text(key_id: bytes) -> str:
    return f"{int.from_bytes(key_id, 'little'):016X}"


def _comment(text: str, what: str) -> str:
    if "\n" in text or "\r" in text or len(text) > _MAX_COMMENT:
        raise ValueError(f"the {what} must be one line of at most {_MAX_COMMENT} characters")
    return text


@dataclass(frozen=True)
class PublicKey:
    key_id: bytes  # 8 bytes
    key: bytes  # 32 bytes

    @property
    def key_id_hex(self) -> str:
        return _key_id_text(self.key_id)

    def dumps(self, comment: str | None = None) -> str:
        comment = _comment(comment or f"minisign public key {self.key_id_hex}", "comment")
        blob = base64.b64encode(b"Ed" + self.key_id + self.key).decode()
        return f"{_UNTRUSTED}{comment}\n{blob}\n"

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """A public key file, or just its base64 line."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines:
            raise SignatureError("the public key is empty")
        if lines[0].startswith(_UNTRUSTED):
            lines = lines[1:]
        if len(lines) != 1:
            raise SignatureError("a public key is one comment line and one base64 line")
        try:
            blob = base64.b64decode(lines[0], validate=True)
        except binascii.Error:
            raise SignatureError("the public key is not valid base64") from None
        if len(blob) != 42 or blob[:2] != b"Ed":
            raise SignatureError("not an Ed25519 minisign/signify public key")
        return cls(blob[2:10], blob[10:])

    @classmethod
    def load(cls, path: Path) -> PublicKey:
        return cls.parse(path.read_text("utf-8"))


class SigningKey:
    """An Ed25519 key with a minisign key id."""

    def __init__(self, seed: bytes, key_id: bytes) -> None:
        if len(seed) != 32 or len(key_id) != 8:
            raise ValueError("an Ed25519 seed is 32 bytes and a key id 8 bytes")
        self._key = _NaclSigningKey(seed)
        self.key_id = key_id

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32), os.urandom(8))

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.key_id, bytes(self._key.verify_key))

    def _secret64(self) -> bytes:
        return bytes(self._key) + bytes(self._key.verify_key)

    def raw_sign(self, message: bytes) -> bytes:
        signature: bytes = self._key.sign(message).signature
        return signature

    def dumps(self) -> str:
        """minisign's secret key format, unencrypted (KDF algorithm zero)."""
        secret = self._secret64()
        checksum = hashlib.blake2b(b"Ed" + self.key_id + secret, digest_size=32).digest()
        blob = (
            b"Ed" + b"\x00\x00" + b"B2" + bytes(32) + bytes(8) + bytes(8)
            + self.key_id + secret + checksum
        )
        return f"{_UNTRUSTED}minisign secret key (unencrypted)\n{base64.b64encode(blob).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) != 2 or not lines[0].startswith(_UNTRUSTED):
            raise SignatureError("a secret key file is a comment line and a base64 line")
        try:
            blob = base64.b64decode(lines[1], validate=True)
        except binascii.Error:
            raise SignatureError("the secret key is not valid base64") from None
        if len(blob) != 158 or blob[:2] != b"Ed" or blob[4:6] != b"B2":
            raise SignatureError("not an Ed25519 minisign secret key")
        if blob[2:4] != b"\x00\x00":
            raise SignatureError("the secret key is password-protected; use an unencrypted key")
        key_id, secret, checksum = blob[54:62], blob[62:126], blob[126:158]
        expected = hashlib.blake2b(b"Ed" + key_id + secret, digest_size=32).digest()
        if checksum != expected:
            raise SignatureError("the secret key's checksum does not match: the file is damaged")
        key = cls(secret[:32], key_id)
        if bytes(key._key.verify_key) != secret[32:]:
            raise SignatureError("the secret key is inconsistent: the file is damaged")
        return key

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls.parse(path.read_text("utf-8"))


@dataclass(frozen=True)
class Verified:
    trusted_comment: str
    key_id: str
    prehashed: bool


def sign(
    message: bytes,
    key: SigningKey,
    *,
    trusted_comment: str,
    untrusted_comment: str = "signature from Egne Data",
) -> str:
    """A ``.minisig`` of ``message`` with the pre-hashed ``ED`` algorithm."""
    trusted = _comment(trusted_comment, "trusted comment")
    untrusted = _comment(untrusted_comment, "untrusted comment")
    digest = hashlib.blake2b(message, digest_size=64).digest()
    signature = key.raw_sign(digest)
    global_signature = key.raw_sign(signature + trusted.encode("utf-8"))
    return (
        f"{_UNTRUSTED}{untrusted}\n"
        f"{base64.b64encode(b'ED' + key.key_id + signature).decode()}\n"
        f"{_TRUSTED}{trusted}\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )


def sign_signify_embedded(message: bytes, key: SigningKey) -> bytes:
    """An OpenBSD signify signed file (``signify -S -e``): signature, then ``message``."""
    signature = key.raw_sign(message)
    line = base64.b64encode(b"Ed" + key.key_id + signature)
    return f"{_UNTRUSTED}verify with signify -C -p signing.pub -x SHA256SUMS.sig\n".encode() + (
        line + b"\n" + message
    )


def verify(message: bytes, signature_text: str, public_key: PublicKey) -> Verified:
    """Check a ``.minisig``; raise :class:`SignatureError` on anything wrong."""
    lines = signature_text.splitlines()
    if len(lines) != 4 or not lines[0].startswith(_UNTRUSTED) or not lines[2].startswith(
        _TRUSTED
    ):
        raise SignatureError("not a minisign signature (expected four lines)")
    try:
        blob = base64.b64decode(lines[1], validate=True)
        global_signature = base64.b64decode(lines[3], validate=True)
    except binascii.Error:
        raise SignatureError("the signature is not valid base64") from None
    if len(blob) != 74 or blob[:2] not in (b"ED", b"Ed") or len(global_signature) != 64:
        raise SignatureError("unsupported or malformed minisign signature")
    algorithm, key_id, signature = blob[:2], blob[2:10], blob[10:]
    if key_id != public_key.key_id:
        raise SignatureError(
            f"signed by key {_key_id_text(key_id)}, not by {public_key.key_id_hex}"
        )
    prehashed = algorithm == b"ED"
    signed = hashlib.blake2b(message, digest_size=64).digest() if prehashed else message
    trusted = lines[2][len(_TRUSTED) :]
    verify_key = VerifyKey(public_key.key)
    try:
        verify_key.verify(signed, signature)
    except BadSignatureError:
        raise SignatureError("the signature does not match the signed file") from None
    try:
        verify_key.verify(signature + trusted.encode("utf-8"), global_signature)
    except BadSignatureError:
        raise SignatureError("the trusted comment was altered") from None
    return Verified(trusted, public_key.key_id_hex, prehashed)
