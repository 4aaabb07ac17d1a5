"""Native recipient types: X25519 and scrypt (spec: "Native recipient types").

A recipient wraps the 16-byte file key into stanzas; an identity looks through all
stanzas of a header for the ones addressed to it and unwraps the file key.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from nacl import bindings
from nacl.exceptions import RuntimeError as NaclRuntimeError

from formats._age import bech32
from formats._age.primitives import ZERO_NONCE, b64decode, b64encode, hkdf, open_sealed, seal
from formats.errors import AgeHeaderError

DEFAULT_WORK_FACTOR = 18
MAX_WORK_FACTOR = 20
"""log2 of scrypt's N. Browser implementations refuse more than 2^20, so we never
write more, and by default refuse to read more (each step doubles time and memory)."""

_X25519_INFO = b"age-encryption.org/v1/X25519"
_SCRYPT_SALT_LABEL = b"age-encryption.org/v1/scrypt"
_WORK_FACTOR_TEXT = re.compile(r"[1-9][0-9]*")


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: ``-> type args...`` and its body."""

    type: str
    args: tuple[str, ...]
    body: bytes


@runtime_checkable
class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


@runtime_checkable
class Identity(Protocol):
    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key if a stanza is addressed to this identity, else None.

        Raises :class:`AgeHeaderError` for a malformed stanza of its own type.
        """
        ...


# -- X25519 ----------------------------------------------------------------------------


def _shared_secret(secret: bytes, point: bytes) -> bytes | None:
    """X25519(secret, point), or None when it is all zeros (a low-order point)."""
    try:
        shared: bytes = bindings.crypto_scalarmult(secret, point)
    except NaclRuntimeError:  # libsodium itself refuses an all-zero result
        return None
    return shared if any(shared) else None


@dataclass(frozen=True)
class X25519Recipient:
    """An ``age1…`` public key."""

    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        text = text.strip()
        try:
            hrp, data = bech32.decode(text)
        except ValueError as exc:
            raise ValueError(f"not an age recipient (age1…): {exc}") from None
        if hrp != "age" or len(data) != 32 or text != text.lower():
            raise ValueError("not an age X25519 recipient (age1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32.encode("age", self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = os.urandom(32)
        share: bytes = bindings.crypto_scalarmult_base(ephemeral)
        shared = _shared_secret(ephemeral, self.public_key)
        if shared is None:
            raise ValueError("the recipient is a low-order point: not a usable public key")
        key = hkdf(shared, share + self.public_key, _X25519_INFO)
        return [Stanza("X25519", (b64encode(share).decode(),), seal(key, ZERO_NONCE, file_key))]


@dataclass(frozen=True)
class X25519Identity:
    """An ``AGE-SECRET-KEY-1…`` secret key."""

    secret_key: bytes

    @classmethod
    def generate(cls) -> X25519Identity:
        return cls(os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        text = text.strip()
        try:
            hrp, data = bech32.decode(text)
        except ValueError as exc:
            raise ValueError(f"not an age identity (AGE-SECRET-KEY-1…): {exc}") from None
        if hrp != "age-secret-key-" or len(data) != 32 or text != text.upper():
            raise ValueError("not an age X25519 identity (AGE-SECRET-KEY-1…)")
        return cls(data)

    @property
    def recipient(self) -> X25519Recipient:
        return X25519Recipient(bindings.crypto_scalarmult_base(self.secret_key))

    def __str__(self) -> str:
        return bech32.encode("age-secret-key-", self.secret_key, upper=True)

    def __repr__(self) -> str:
        # Never the secret: reprs end up in logs and tracebacks.
        return f"X25519Identity(recipient={self.recipient})"

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        public: bytes | None = None
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 1:
                raise AgeHeaderError("an X25519 stanza must have exactly one share")
            share = b64decode(stanza.args[0].encode(), "the X25519 share")
            if len(share) != 32:
                raise AgeHeaderError("the X25519 share must be 32 bytes")
            # Checked before decrypting, against partitioning oracle attacks.
            if len(stanza.body) != 32:
                raise AgeHeaderError("the X25519 stanza body must be 32 bytes")
            shared = _shared_secret(self.secret_key, share)
            if shared is None:  # the spec says abort, not skip
                raise AgeHeaderError("the X25519 share is a low-order point")
            if public is None:
                public = bindings.crypto_scalarmult_base(self.secret_key)
            key = hkdf(shared, share + public, _X25519_INFO)
            file_key = open_sealed(key, ZERO_NONCE, stanza.body)
            if file_key is not None:
                return file_key
        return None


# -- scrypt ----------------------------------------------------------------------------


def _passphrase_bytes(passphrase: bytes | str) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise ValueError("the passphrase is empty")
    return data


def _scrypt(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    n = 1 << work_factor
    return hashlib.scrypt(
        passphrase,
        salt=_SCRYPT_SALT_LABEL + salt,
        n=n,
        r=8,
        p=1,
        maxmem=130 * 8 * n + (1 << 20),  # scrypt needs 128·r·N bytes, plus headroom
        dklen=32,
    )


class ScryptRecipient:
    """A passphrase to encrypt to. The spec makes it the header's only stanza."""

    def __init__(self, passphrase: bytes | str, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not 1 <= work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"the scrypt work factor must be between 1 and {MAX_WORK_FACTOR}")
        self._passphrase = _passphrase_bytes(passphrase)
        self.work_factor = work_factor

    def __repr__(self) -> str:
        return f"ScryptRecipient(work_factor={self.work_factor})"

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        key = _scrypt(self._passphrase, salt, self.work_factor)
        args = (b64encode(salt).decode(), str(self.work_factor))
        return [Stanza("scrypt", args, seal(key, ZERO_NONCE, file_key))]


class ScryptIdentity:
    """A passphrase to decrypt with; refuses work factors above ``max_work_factor``."""

    def __init__(self, passphrase: bytes | str, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        if max_work_factor < 1:
            raise ValueError("max_work_factor must be at least 1")
        self._passphrase = _passphrase_bytes(passphrase)
        self.max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return f"ScryptIdentity(max_work_factor={self.max_work_factor})"

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "scrypt":
                continue
            if len(stanza.args) != 2:
                raise AgeHeaderError("an scrypt stanza must have a salt and a work factor")
            salt = b64decode(stanza.args[0].encode(), "the scrypt salt")
            if len(salt) != 16:
                raise AgeHeaderError("the scrypt salt must be 16 bytes")
            text = stanza.args[1]
            if not _WORK_FACTOR_TEXT.fullmatch(text):
                raise AgeHeaderError("the scrypt work factor must be a decimal number")
            # Compared as text length first so that a 5000-digit number costs nothing.
            if len(text) > 2 or int(text) > self.max_work_factor:
                raise AgeHeaderError(
                    f"the scrypt work factor 2^{text[:6]} is above the limit "
                    f"2^{self.max_work_factor}"
                )
            if len(stanza.body) != 32:
                raise AgeHeaderError("the scrypt stanza body must be 32 bytes")
            key = _scrypt(self._passphrase, salt, int(text))
            file_key = open_sealed(key, ZERO_NONCE, stanza.body)
            if file_key is not None:
                return file_key
        return None
