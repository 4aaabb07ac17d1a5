"""age v1 file encryption (C2SP age, ``age-encryption.org/v1``) on PyNaCl primitives.

An age file is a text header, then the payload::

    age-encryption.org/v1
    -> X25519 <ephemeral share>            one stanza per recipient; each wraps the
    <body: the wrapped file key>           16-byte file key
    --- <HMAC-SHA256 of the header, keyed from the file key>
    <16-byte nonce><STREAM: 64 KiB ChaCha20-Poly1305 chunks, last one flagged>

Everything streams in 64 KiB chunks both ways, so memory does not grow with the file.
Recipients: X25519 (``age1…``) and scrypt passphrases (work factor 2^18 by default,
never above 2^20 when encrypting; decrypting refuses above ``max_work_factor``, 2^20
unless raised). ASCII armor (``-----BEGIN AGE ENCRYPTED FILE-----``) is read and written.

:func:`rewrap` gives an existing file a new header for new recipients and copies the
payload bytes through untouched: delivering to someone new costs a header, not a
re-encryption.

Every malformed, truncated or altered input raises a :class:`formats.errors.AgeError`
subclass (or :class:`~formats.errors.ArmorError`), named after the kind of failure the
spec's test vectors use: header, HMAC, no match, payload, armor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Protocol

from nacl import bindings
from nacl.exceptions import CryptoError

from formats import bech32
from formats.errors import (
    AgeError,
    AgeHeaderError,
    AgeHmacError,
    AgeNoMatchError,
    AgePayloadError,
    ArmorError,
)

__all__ = [
    "DEFAULT_WORK_FACTOR",
    "MAX_WORK_FACTOR",
    "Identity",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "Stanza",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "rewrap",
]

DEFAULT_WORK_FACTOR = 18
MAX_WORK_FACTOR = 20
"""Browser implementations refuse more than 2^20; so do we, both ways by default."""

_VERSION_LINE = b"age-encryption.org/v1\n"
_CHUNK = 64 * 1024
_TAG = 16
_SEALED_CHUNK = _CHUNK + _TAG
_MAX_LINE = 8 * 1024
_MAX_HEADER = 1024 * 1024
_ZERO_NONCE = bytes(12)
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_B64 = re.compile(rb"[A-Za-z0-9+/]*")
_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"


# -- primitives --------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with a 32-byte output (RFC 5869)."""
    prk = hmac.digest(salt or bytes(32), ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def _seal(key: bytes, nonce: bytes, data: bytes) -> bytes:
    sealed: bytes = bindings.crypto_aead_chacha20poly1305_ietf_encrypt(data, None, nonce, key)
    return sealed


def _open(key: bytes, nonce: bytes, data: bytes) -> bytes | None:
    try:
        opened: bytes = bindings.crypto_aead_chacha20poly1305_ietf_decrypt(data, None, nonce, key)
    except CryptoError:
        return None
    return opened


def _x25519(secret: bytes, public: bytes) -> bytes | None:
    """The shared secret, or None for the all-zero result of a low-order point."""
    try:
        shared: bytes = bindings.crypto_scalarmult(secret, public)
    except RuntimeError:  # libsodium refuses an all-zero result
        return None
    return shared if any(shared) else None


def _b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode(text: bytes, what: str) -> bytes:
    """Canonical unpadded base64, as the spec requires everywhere in the header."""
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise AgeHeaderError(f"{what}: not valid unpadded base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4))
    if _b64encode(data) != text:
        raise AgeHeaderError(f"{what}: base64 is not canonical")
    return data


# -- stanzas, recipients, identities ---------------------------------------------------


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes


class Recipient(Protocol):
    def wrap(self, file_key: bytes) -> list[Stanza]: ...


class Identity(Protocol):
    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key if one of the stanzas is for this identity, else None.

        Raises ``AgeHeaderError`` for a malformed stanza of its own type.
        """
        ...


@dataclass(frozen=True)
class X25519Recipient:
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        try:
            hrp, data = bech32.decode(text.strip())
        except ValueError as exc:
            raise ValueError(f"not an age recipient (age1…): {exc}") from None
        if hrp != "age" or len(data) != 32 or text.strip() != text.strip().lower():
            raise ValueError("not an age X25519 recipient (age1…)")
        return cls(data)

    def __str__(self) -> str:
        return bech32.encode("age", self.public_key)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        ephemeral = os.urandom(32)
        share: bytes = bindings.crypto_scalarmult_base(ephemeral)
        shared = _x25519(ephemeral, self.public_key)
        if shared is None:
            raise ValueError("the recipient's public key is a low-order point")
        key = _hkdf(shared, share + self.public_key, _X25519_LABEL)
        body = _seal(key, _ZERO_NONCE, file_key)
        return [Stanza("X25519", (_b64encode(share).decode(),), body)]


@dataclass(frozen=True)
class X25519Identity:
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
        return f"X25519Identity(recipient={self.recipient})"

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 1:
                raise AgeHeaderError("X25519 stanza must have exactly one argument")
            share = _b64decode(stanza.args[0].encode(), "X25519 share")
            if len(share) != 32:
                raise AgeHeaderError("X25519 share must be 32 bytes")
            if len(stanza.body) != 32:
                raise AgeHeaderError("X25519 stanza body must be 32 bytes")
            shared = _x25519(self.secret_key, share)
            if shared is None:
                raise AgeHeaderError("X25519 share is a low-order point")
            public = bindings.crypto_scalarmult_base(self.secret_key)
            key = _hkdf(shared, share + public, _X25519_LABEL)
            file_key = _open(key, _ZERO_NONCE, stanza.body)
            if file_key is not None:
                return file_key
        return None


def _passphrase(value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    if not data:
        raise ValueError("the passphrase is empty")
    return data


def _scrypt(passphrase: bytes, salt: bytes, work_factor: int) -> bytes:
    n = 1 << work_factor
    return hashlib.scrypt(
        passphrase, salt=_SCRYPT_LABEL + salt, n=n, r=8, p=1, maxmem=2 * 128 * 8 * n, dklen=32
    )


class ScryptRecipient:
    """A passphrase. It must be the file's only recipient."""

    def __init__(self, passphrase: bytes | str, work_factor: int = DEFAULT_WORK_FACTOR) -> None:
        if not 1 <= work_factor <= MAX_WORK_FACTOR:
            raise ValueError(f"scrypt work factor must be 1..{MAX_WORK_FACTOR}")
        self._passphrase = _passphrase(passphrase)
        self.work_factor = work_factor

    def wrap(self, file_key: bytes) -> list[Stanza]:
        salt = os.urandom(16)
        key = _scrypt(self._passphrase, salt, self.work_factor)
        body = _seal(key, _ZERO_NONCE, file_key)
        return [Stanza("scrypt", (_b64encode(salt).decode(), str(self.work_factor)), body)]


class ScryptIdentity:
    """A passphrase to decrypt with; refuses work factors above ``max_work_factor``."""

    def __init__(self, passphrase: bytes | str, max_work_factor: int = MAX_WORK_FACTOR) -> None:
        self._passphrase = _passphrase(passphrase)
        self.max_work_factor = max_work_factor

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "scrypt":
                continue
            if len(stanza.args) != 2:
                raise AgeHeaderError("scrypt stanza must have exactly two arguments")
            salt = _b64decode(stanza.args[0].encode(), "scrypt salt")
            if len(salt) != 16:
                raise AgeHeaderError("scrypt salt must be 16 bytes")
            if not re.fullmatch(r"[1-9][0-9]?", stanza.args[1]):
                raise AgeHeaderError("scrypt work factor must be a decimal number")
            work_factor = int(stanza.args[1])
            if work_factor > self.max_work_factor:
                raise AgeHeaderError(
                    f"scrypt work factor 2^{work_factor} is above the limit "
                    f"2^{self.max_work_factor}"
                )
            if len(stanza.body) != 32:
                raise AgeHeaderError("scrypt stanza body must be 32 bytes")
            file_key = _open(_scrypt(self._passphrase, salt, work_factor), _ZERO_NONCE, stanza.body)
            if file_key is not None:
                return file_key
        return None


# -- the header ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes  # the header bytes up to and including "---"


def _readline(src: IO[bytes]) -> bytes:
    line = src.readline(_MAX_LINE)
    if not line.endswith(b"\n"):
        raise AgeHeaderError("header is truncated or has an over-long line")
    return line


def _read_header(src: IO[bytes]) -> _Header:
    first = src.readline(len(_VERSION_LINE))
    if first != _VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise AgeHeaderError("unsupported age version")
        raise AgeHeaderError("not an age file")
    raw = [first]
    size = len(first)
    stanzas: list[Stanza] = []
    while True:
        line = _readline(src)
        size += len(line)
        if size > _MAX_HEADER:
            raise AgeHeaderError("header is too large")
        if line.startswith(b"---"):
            if not line.startswith(b"--- ") or len(line) != 4 + 43 + 1:
                raise AgeHeaderError("malformed header MAC line")
            mac = _b64decode(line[4:-1], "header MAC")
            if not stanzas:
                raise AgeHeaderError("header has no recipients")
            return _Header(tuple(stanzas), mac, b"".join(raw) + b"---")
        raw.append(line)
        if not line.startswith(b"-> "):
            raise AgeHeaderError("expected a stanza or the MAC line")
        args = line[3:-1].split(b" ")
        for arg in args:
            if not arg or any(c < 33 or c > 126 for c in arg):
                raise AgeHeaderError("stanza argument is empty or has invalid characters")
        body_lines = []
        while True:
            body_line = _readline(src)
            size += len(body_line)
            if size > _MAX_HEADER:
                raise AgeHeaderError("header is too large")
            raw.append(body_line)
            content = body_line[:-1]
            if len(content) > 64:
                raise AgeHeaderError("stanza body line is longer than 64 columns")
            body_lines.append(content)
            if len(content) < 64:
                break
        body = _b64decode(b"".join(body_lines), "stanza body")
        stanzas.append(Stanza(args[0].decode(), tuple(a.decode() for a in args[1:]), body))


def _format_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    out = bytearray(_VERSION_LINE)
    for stanza in stanzas:
        out += b" ".join([b"->", stanza.type.encode(), *(a.encode() for a in stanza.args)])
        out += b"\n"
        body = _b64encode(stanza.body)
        for i in range(0, len(body), 64):
            out += body[i : i + 64] + b"\n"
        if len(body) % 64 == 0:
            out += b"\n"
    out += b"---"
    mac = hmac.digest(_hkdf(file_key, b"", b"header"), bytes(out), "sha256")
    return bytes(out) + b" " + _b64encode(mac) + b"\n"


def _unwrap(header: _Header, identities: Sequence[Identity]) -> bytes:
    if any(s.type == "scrypt" for s in header.stanzas) and len(header.stanzas) != 1:
        raise AgeHeaderError("a scrypt stanza must be the only one in the header")
    if not identities:
        raise ValueError("no identities given")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            if len(file_key) != 16:
                raise AgeHeaderError("the file key must be 16 bytes")
            expected = hmac.digest(_hkdf(file_key, b"", b"header"), header.mac_input, "sha256")
            if not hmac.compare_digest(expected, header.mac):
                raise AgeHmacError("the header MAC does not match: the header was altered")
            return file_key
    raise AgeNoMatchError("none of the given identities can open this file")


def _wrap_all(recipients: Sequence[Recipient], file_key: bytes) -> list[Stanza]:
    if not recipients:
        raise ValueError("no recipients given")
    stanzas = [s for r in recipients for s in r.wrap(file_key)]
    if any(s.type == "scrypt" for s in stanzas) and len(stanzas) != 1:
        raise ValueError("a passphrase must be the only recipient")
    return stanzas


# -- ASCII armor -----------------------------------------------------------------------


class _ArmorReader(io.RawIOBase):
    """Strict PEM-like armor: 64-column base64 lines, padded, LF or CRLF."""

    def __init__(self, src: IO[bytes]) -> None:
        self._src = src
        self._pending = b""
        self._finished = False
        self._short_line_seen = False

    def readable(self) -> bool:
        return True

    def _line(self) -> bytes:
        line = self._src.readline(80)
        if line == _ARMOR_END:  # the END line may close the file without a newline
            return line
        if not line.endswith(b"\n"):
            raise ArmorError("armored data is truncated or has an over-long line")
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]

    def _fill(self) -> None:
        line = self._line()
        if line == _ARMOR_END:
            self._finished = True
            rest = self._src.read(_MAX_LINE)
            if rest.strip(b" \t\r\n"):
                raise ArmorError("garbage after the armored file")
            return
        if self._short_line_seen:
            raise ArmorError("a short line must be the last line of armored data")
        if not line or len(line) > 64 or len(line) % 4:
            raise ArmorError("armored lines must be 64 columns (the last may be shorter)")
        if len(line) < 64:
            self._short_line_seen = True
        try:
            data = base64.b64decode(line, validate=True)
        except ValueError:
            raise ArmorError("armored data is not valid base64") from None
        if base64.b64encode(data) != line:
            raise ArmorError("armored base64 is not canonical")
        if b"=" in line and not self._short_line_seen:
            raise ArmorError("padding in the middle of armored data")
        self._pending += data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._finished:
            self._fill()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _input(src: IO[bytes]) -> IO[bytes]:
    """The binary age stream, de-armoring if the input is armored."""
    head = _read_exactly(src, 1024)
    if head.startswith(b"age-encryption.org/"):
        return io.BufferedReader(_Prefixed(head, src), _SEALED_CHUNK)
    stripped = head.lstrip(b" \t\r\n")  # whitespace around armor is allowed
    if b"-----BEGIN" in head and not stripped.startswith(b"-----"):
        raise ArmorError("garbage before the armored file")
    if stripped.startswith(b"-----"):
        for eol in (b"\n", b"\r\n"):
            if stripped.startswith(_ARMOR_BEGIN + eol):
                after = stripped[len(_ARMOR_BEGIN) + len(eol) :]
                lines = io.BufferedReader(_Prefixed(after, src), 4096)
                return io.BufferedReader(_ArmorReader(lines), _SEALED_CHUNK)
        raise ArmorError("not an armored age file (wrong BEGIN line)")
    if not head:
        raise AgeHeaderError("the file is empty")
    raise AgeHeaderError("not an age file")


class _Prefixed(io.RawIOBase):
    """Reads ``prefix`` first, then ``src``."""

    def __init__(self, prefix: bytes, src: IO[bytes]) -> None:
        self._prefix = prefix
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._src.read(len(view))
        view[: len(data)] = data
        return len(data)


class _ArmorWriter(io.RawIOBase):
    def __init__(self, dst: IO[bytes]) -> None:
        self._dst = dst
        self._pending = b""
        dst.write(_ARMOR_BEGIN + b"\n")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._pending += bytes(data)
        whole = len(self._pending) - len(self._pending) % 48
        if whole:
            text = base64.b64encode(self._pending[:whole])
            self._dst.write(b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64)))
            self._pending = self._pending[whole:]
        return len(data)

    def finish(self) -> None:
        if self._pending:
            self._dst.write(base64.b64encode(self._pending) + b"\n")
        self._dst.write(_ARMOR_END + b"\n")


# -- the payload -----------------------------------------------------------------------


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_exactly(src: IO[bytes], size: int) -> bytes:
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class _EncryptWriter(io.RawIOBase):
    def __init__(self, dst: IO[bytes], key: bytes) -> None:
        self._dst = dst
        self._key = key
        self._buffer = bytearray()
        self._counter = 0
        self._finished = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        if self._finished:
            raise ValueError("write to a finished age stream")
        self._buffer += data
        # Keep at least one byte back: only close() knows which chunk is the last.
        if len(self._buffer) > _CHUNK:
            whole = (len(self._buffer) - 1) // _CHUNK * _CHUNK
            ready = bytes(self._buffer[:whole])  # libsodium's binding takes bytes only
            out = [
                _seal(self._key, _nonce(self._counter + i, False), ready[o : o + _CHUNK])
                for i, o in enumerate(range(0, whole, _CHUNK))
            ]
            self._counter += len(out)
            self._dst.write(b"".join(out))
            del self._buffer[:whole]
        return len(data)

    def finish(self) -> None:
        if not self._finished:
            self._dst.write(_seal(self._key, _nonce(self._counter, True), bytes(self._buffer)))
            self._buffer.clear()
            self._finished = True


class _DecryptReader(io.RawIOBase):
    def __init__(self, src: IO[bytes], key: bytes) -> None:
        self._src = src
        self._key = key
        self._counter = 0
        self._plain = b""
        self._offset = 0
        self._done = False
        self._next = _read_exactly(src, _SEALED_CHUNK)

    def readable(self) -> bool:
        return True

    def _advance(self) -> None:
        sealed = self._next
        if not sealed:
            raise AgePayloadError("the payload is truncated (no final chunk)")
        following = _read_exactly(self._src, _SEALED_CHUNK)
        last = not following
        if len(sealed) < _TAG or (not last and len(sealed) != _SEALED_CHUNK):
            raise AgePayloadError("the payload is truncated")
        if last and len(sealed) == _TAG and self._counter:
            raise AgePayloadError("the final chunk is empty")
        plain = _open(self._key, _nonce(self._counter, last), sealed)
        if plain is None:
            raise AgePayloadError("a payload chunk failed authentication (altered or truncated)")
        self._counter += 1
        self._plain, self._offset = plain, 0
        self._next = following
        self._done = last

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._offset >= len(self._plain):
            if self._done:
                return 0
            self._advance()
        n = min(len(view), len(self._plain) - self._offset)
        view[:n] = self._plain[self._offset : self._offset + n]
        self._offset += n
        return n


def _payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return _hkdf(file_key, nonce, b"payload")


# -- public API ------------------------------------------------------------------------


@contextmanager
def encrypt_stream(
    dst: IO[bytes], recipients: Sequence[Recipient], *, armor: bool = False
) -> Iterator[IO[bytes]]:
    """A writable, non-seekable stream; the file is complete when the block ends.

    If the block raises, the final chunk is not written and the output will not
    decrypt: a failed write never looks like a complete file.
    """
    file_key = os.urandom(16)
    header = _format_header(_wrap_all(recipients, file_key), file_key)
    armor_writer = _ArmorWriter(dst) if armor else None
    sink: IO[bytes] = armor_writer if armor_writer else dst  # type: ignore[assignment]
    nonce = os.urandom(16)
    sink.write(header + nonce)
    writer = _EncryptWriter(sink, _payload_key(file_key, nonce))
    yield writer  # type: ignore[misc]
    writer.finish()
    if armor_writer:
        armor_writer.finish()


def encrypt(
    src: IO[bytes], dst: IO[bytes], recipients: Sequence[Recipient], *, armor: bool = False
) -> None:
    with encrypt_stream(dst, recipients, armor=armor) as out:
        while chunk := src.read(16 * _CHUNK):
            out.write(chunk)


def _open_payload(src: IO[bytes], identities: Sequence[Identity]) -> tuple[IO[bytes], bytes]:
    stream = _input(src)
    header = _read_header(stream)
    return stream, _unwrap(header, identities)


def decrypt_stream(src: IO[bytes], identities: Sequence[Identity]) -> IO[bytes]:
    """A readable stream of the plaintext; raises at the first bad chunk."""
    stream, file_key = _open_payload(src, identities)
    nonce = _read_exactly(stream, 16)
    if len(nonce) != 16:
        raise AgeHeaderError("the file ends before the payload nonce")
    reader = _DecryptReader(stream, _payload_key(file_key, nonce))
    return io.BufferedReader(reader, _CHUNK)


def decrypt(src: IO[bytes], dst: IO[bytes], identities: Sequence[Identity]) -> None:
    plain = decrypt_stream(src, identities)
    while chunk := plain.read(16 * _CHUNK):
        dst.write(chunk)


def rewrap(
    src: IO[bytes],
    dst: IO[bytes],
    identities: Sequence[Identity],
    new_recipients: Sequence[Recipient],
    *,
    armor: bool = False,
) -> None:
    """The same payload under a new header for ``new_recipients``.

    The payload bytes (nonce and chunks) are copied through unchanged; only the header
    is new. The payload is not authenticated here, the receiver's decryption does that.
    """
    stream, file_key = _open_payload(src, identities)
    header = _format_header(_wrap_all(new_recipients, file_key), file_key)
    armor_writer = _ArmorWriter(dst) if armor else None
    sink: IO[bytes] = armor_writer if armor_writer else dst  # type: ignore[assignment]
    sink.write(header)
    while chunk := stream.read(16 * _CHUNK):
        sink.write(chunk)
    if armor_writer:
        armor_writer.finish()


def is_age_error(exc: BaseException) -> bool:
    return isinstance(exc, AgeError | ArmorError)
