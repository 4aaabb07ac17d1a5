"""Ed25519 signatures in minisign format, and OpenBSD signify signed checksum files.

minisign (jedisct1/minisign, "Signature format")::

    untrusted comment: <free text, not signed>
    base64("ED" || key number (8 bytes) || Ed25519(BLAKE2b-512(message)))
    trusted comment: <text>
    base64(Ed25519(signature || trusted comment))     the "global signature"

``ED`` is the pre-hashed algorithm minisign has written since 0.8; the legacy ``Ed``
(the message itself signed) is still accepted when verifying.

signify (OpenBSD ``signify -S -e``, checked with ``signify -C``): an untrusted comment
line, base64("Ed" || key number || Ed25519(message)), then the message (our
``SHA256SUMS``) itself. Both tools read the same public key file: an untrusted comment
line and base64("Ed" || key number || public key). So ``minisign -Vm SHA256SUMS -p
signing-key.pub`` and ``signify -C -p signing-key.pub -x SHA256SUMS.sig`` check a
package with no Egne Data code.

The key number is 8 random bytes; minisign shows it as a 64-bit little-endian number
in upper-case hex, and so does :attr:`PublicKey.key_id`. Secret keys are written in
minisign's secret key format, unencrypted (KDF algorithm zero, as ``minisign -W``
writes them) with a correct BLAKE2b checksum, so ``minisign -S -s`` can use them: the
file is protected by its permissions instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey as _Ed25519SigningKey
from nacl.signing import VerifyKey

from formats.errors import SignatureError

__all__ = [
    "DEFAULT_SIGNIFY_COMMENT",
    "PublicKey",
    "SigningKey",
    "Verified",
    "sign",
    "sign_digest",
    "sign_signify_embedded",
    "verify",
    "verify_signify_embedded",
]

_UNTRUSTED = "untrusted comment: "
_TRUSTED = "trusted comment: "
_MAX_COMMENT = 1024
_MAX_SIGNATURE_TEXT = 64 * 1024
_ED25519 = b"Ed"
_PREHASHED = b"ED"
_KDF_NONE = b"\x00\x00"
_CHECKSUM_BLAKE2B = b"B2"
_SECRET_KEY_SIZE = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32
DEFAULT_SIGNIFY_COMMENT = "verify with signing-key.pub"


def _key_id(keynum: bytes) -> str:
    return f"{int.from_bytes(keynum, 'little'):016X}"


def _comment(text: str, what: str) -> str:
    if len(text) > _MAX_COMMENT or not text.isprintable():
        raise ValueError(f"the {what} must be one printable line of at most {_MAX_COMMENT}")
    return text


def _lines(text: str) -> list[str]:
    """Lines split on LF only (a comment may hold any other character), CRs dropped."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _b64(line: str, what: str) -> bytes:
    try:
        return base64.b64decode(line.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"the {what} is not valid base64") from None


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its minisign/signify key number."""

    keynum: bytes  # 8 bytes
    key: bytes  # 32 bytes

    @property
    def key_id(self) -> str:
        """The key number as minisign prints it (16 upper-case hex digits)."""
        return _key_id(self.keynum)

    @property
    def key_id_hex(self) -> str:
        return self.key_id

    def dumps(self, comment: str | None = None) -> str:
        comment = _comment(comment or f"minisign public key {self.key_id}", "comment")
        blob = base64.b64encode(_ED25519 + self.keynum + self.key).decode()
        return f"{_UNTRUSTED}{comment}\n{blob}\n"

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """A public key file (comment line, base64 line), or just the base64 line."""
        lines = [line for line in _lines(text[:_MAX_SIGNATURE_TEXT]) if line.strip()]
        if lines and lines[0].startswith(_UNTRUSTED):
            lines = lines[1:]
        if len(lines) != 1:
            raise SignatureError("a public key is a comment line and one base64 line")
        blob = _b64(lines[0], "public key")
        if len(blob) != 42 or blob[:2] != _ED25519:
            raise SignatureError("not an Ed25519 minisign/signify public key")
        return cls(blob[2:10], blob[10:])

    @classmethod
    def load(cls, path: Path) -> PublicKey:
        try:
            return cls.parse(path.read_text("utf-8"))
        except UnicodeDecodeError:
            raise SignatureError(f"{path} is not a public key file") from None


class SigningKey:
    """An Ed25519 secret key with a minisign key number."""

    def __init__(self, seed: bytes, keynum: bytes) -> None:
        if len(seed) != 32 or len(keynum) != 8:
            raise ValueError("an Ed25519 seed is 32 bytes and a key number 8 bytes")
        self._key = _Ed25519SigningKey(seed)
        self.keynum = keynum

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id})"

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32), os.urandom(8))

    @property
    def key_id(self) -> str:
        return _key_id(self.keynum)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.keynum, bytes(self._key.verify_key))

    @property
    def seed(self) -> bytes:
        """The 32-byte Ed25519 seed, for signers that stream (:mod:`formats.ed25519`)."""
        return bytes(self._key)

    def raw_sign(self, message: bytes) -> bytes:
        """A bare 64-byte Ed25519 signature of ``message``."""
        signature: bytes = self._key.sign(message).signature
        return signature

    def _checksum(self, secret: bytes) -> bytes:
        return hashlib.blake2b(_ED25519 + self.keynum + secret, digest_size=32).digest()

    def dumps(self, comment: str = "minisign secret key (unencrypted)") -> str:
        """minisign's secret key file, unencrypted: keep it mode 0600."""
        secret = bytes(self._key) + bytes(self._key.verify_key)
        blob = b"".join(
            [
                _ED25519,
                _KDF_NONE,
                _CHECKSUM_BLAKE2B,
                bytes(32 + 8 + 8),  # KDF salt, opslimit, memlimit: unused without a KDF
                self.keynum,
                secret,
                self._checksum(secret),
            ]
        )
        return f"{_UNTRUSTED}{_comment(comment, 'comment')}\n{base64.b64encode(blob).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        lines = [line for line in _lines(text[:_MAX_SIGNATURE_TEXT]) if line.strip()]
        if len(lines) != 2 or not lines[0].startswith(_UNTRUSTED):
            raise SignatureError("a secret key file is a comment line and a base64 line")
        blob = _b64(lines[1], "secret key")
        if len(blob) != _SECRET_KEY_SIZE or blob[:2] != _ED25519:
            raise SignatureError("not an Ed25519 minisign secret key")
        if blob[2:4] != _KDF_NONE:
            raise SignatureError(
                "the secret key is password-protected; make an unencrypted one (minisign -W)"
            )
        if blob[4:6] != _CHECKSUM_BLAKE2B:
            raise SignatureError("the secret key uses an unknown checksum algorithm")
        keynum, secret, checksum = blob[54:62], blob[62:126], blob[126:]
        try:
            key = cls(secret[:32], keynum)
        except (ValueError, CryptoError):
            raise SignatureError("the secret key is damaged") from None
        # minisign 0.11 leaves the checksum of an unencrypted (-W) key all zeros; the
        # public half stored beside the seed still catches a damaged file then.
        if checksum != bytes(32) and key._checksum(secret) != checksum:
            raise SignatureError("the secret key's checksum does not match: the file is damaged")
        if bytes(key._key.verify_key) != secret[32:]:
            raise SignatureError("the secret key is inconsistent: the file is damaged")
        return key

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            return cls.parse(path.read_text("utf-8"))
        except UnicodeDecodeError:
            raise SignatureError(f"{path} is not a secret key file") from None


@dataclass(frozen=True)
class Verified:
    """What a good signature vouches for."""

    trusted_comment: str
    key_id: str
    prehashed: bool = True


def sign(
    message: bytes,
    key: SigningKey,
    *,
    trusted_comment: str,
    untrusted_comment: str = "signature from Egne Data",
) -> str:
    """A ``.minisig`` of ``message`` with the pre-hashed ``ED`` algorithm."""
    return sign_digest(hashlib.blake2b(message, digest_size=64).digest(), key,
                       trusted_comment=trusted_comment, untrusted_comment=untrusted_comment)


def sign_digest(
    digest: bytes,
    key: SigningKey,
    *,
    trusted_comment: str,
    untrusted_comment: str = "signature from Egne Data",
) -> str:
    """:func:`sign` for a message already hashed with BLAKE2b-512 (``digest``), so a large
    file is signed as it is written, never held in memory."""
    if len(digest) != 64:
        raise ValueError("the digest is BLAKE2b-512: 64 bytes")
    trusted = _comment(trusted_comment, "trusted comment")
    untrusted = _comment(untrusted_comment, "untrusted comment")
    signature = key.raw_sign(digest)
    global_signature = key.raw_sign(signature + trusted.encode("utf-8"))
    return (
        f"{_UNTRUSTED}{untrusted}\n"
        f"{base64.b64encode(_PREHASHED + key.keynum + signature).decode()}\n"
        f"{_TRUSTED}{trusted}\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )


def sign_signify_embedded(
    message: bytes, key: SigningKey, *, untrusted_comment: str = DEFAULT_SIGNIFY_COMMENT
) -> bytes:
    """A signify signed file (``signify -S -e``): signature lines, then ``message``.

    signify reads "verify with <file>" in the comment to find the key when no ``-p``
    is given, so the default names the key file shipped in every package.
    """
    comment = _comment(untrusted_comment, "untrusted comment")
    line = base64.b64encode(_ED25519 + key.keynum + key.raw_sign(message))
    return f"{_UNTRUSTED}{comment}\n".encode() + line + b"\n" + message


def verify_signify_embedded(data: bytes, public_key: PublicKey) -> bytes:
    """The message of a signify signed file, after checking its signature."""
    comment, _, rest = data.partition(b"\n")
    line, _, message = rest.partition(b"\n")
    if not comment.startswith(_UNTRUSTED.encode()):
        raise SignatureError("not a signify signed file (no untrusted comment line)")
    try:
        blob = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signify signature is not valid base64") from None
    if len(blob) != 74 or blob[:2] != _ED25519:
        raise SignatureError("unsupported or malformed signify signature")
    if blob[2:10] != public_key.keynum:
        raise SignatureError(
            f"signed by key {_key_id(blob[2:10])}, not by the expected key {public_key.key_id}"
        )
    try:
        VerifyKey(public_key.key).verify(message, blob[10:])
    except (BadSignatureError, CryptoError, ValueError):
        raise SignatureError("the signify signature does not match the signed file") from None
    return message


def verify(message: bytes, signature_text: str, public_key: PublicKey) -> Verified:
    """Check a ``.minisig`` of ``message``; :class:`SignatureError` on anything wrong."""
    lines = _lines(signature_text[:_MAX_SIGNATURE_TEXT])
    if len(lines) != 4 or not lines[0].startswith(_UNTRUSTED) or not lines[2].startswith(_TRUSTED):
        raise SignatureError("not a minisign signature (expected four lines)")
    blob = _b64(lines[1], "signature")
    global_signature = _b64(lines[3], "global signature")
    if len(blob) != 74 or blob[:2] not in (_PREHASHED, _ED25519) or len(global_signature) != 64:
        raise SignatureError("unsupported or malformed minisign signature")
    algorithm, keynum, signature = blob[:2], blob[2:10], blob[10:]
    if keynum != public_key.keynum:
        raise SignatureError(
            f"signed by key {_key_id(keynum)}, not by the expected key {public_key.key_id}"
        )
    prehashed = algorithm == _PREHASHED
    signed = hashlib.blake2b(message, digest_size=64).digest() if prehashed else message
    trusted = lines[2][len(_TRUSTED) :]
    try:
        verify_key = VerifyKey(public_key.key)
        verify_key.verify(signed, signature)
    except (BadSignatureError, CryptoError, ValueError):
        raise SignatureError("the signature does not match the signed file") from None
    try:
        verify_key.verify(signature + trusted.encode("utf-8"), global_signature)
    except (BadSignatureError, CryptoError, ValueError):
        raise SignatureError("the trusted comment was altered (bad global signature)") from None
    return Verified(trusted, public_key.key_id, prehashed)
