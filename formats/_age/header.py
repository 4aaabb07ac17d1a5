"""The textual header (spec: "Header", "Recipient stanza", "Header MAC").

::

    age-encryption.org/v1
    -> X25519 <share>                  arg-line: "-> " arguments (VCHAR), space separated
    <base64 body, 64 columns a line>   the body ends with a line shorter than 64
    --- <base64 HMAC-SHA-256>          over everything up to and including "---"

Reading is bounded: a line may be at most ``MAX_LINE`` bytes and the header at most
``MAX_HEADER``, so a hostile file can neither exhaust memory nor keep us reading.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from formats._age.primitives import b64decode, b64encode, hkdf
from formats._age.recipients import Identity, Recipient, Stanza
from formats._age.source import Source
from formats.errors import AgeHeaderError, AgeHmacError, AgeNoMatchError

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
MAX_LINE = 16 * 1024  # room for post-quantum stanzas (~1.5 kB) and plugins
MAX_HEADER = 1024 * 1024
_MAC_LINE_LENGTH = len(b"--- ") + 43 + 1  # 32 bytes of MAC, unpadded base64


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes  # the header bytes up to and including "---"


def _mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac.digest(hkdf(file_key, b"", b"header"), mac_input, "sha256")


def _valid_argument(arg: bytes) -> bool:
    return bool(arg) and all(33 <= c <= 126 for c in arg)


class _Lines:
    """Header lines from a source, within the line and total size bounds."""

    def __init__(self, src: Source) -> None:
        self._src = src
        self.raw = bytearray()

    def next(self) -> bytes:
        line = self._src.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            if len(line) >= MAX_LINE:
                raise AgeHeaderError(f"a header line is longer than {MAX_LINE} bytes")
            raise AgeHeaderError("the header is truncated")
        self.raw += line
        if len(self.raw) > MAX_HEADER:
            raise AgeHeaderError(f"the header is larger than {MAX_HEADER} bytes")
        return line


def read_header(src: Source) -> Header:
    """Parse the header; ``src`` is left at the first byte of the payload."""
    first = src.readline(len(VERSION_LINE))
    if first != VERSION_LINE:
        if not first:
            raise AgeHeaderError("the file is empty")
        if first.startswith(_VERSION_PREFIX):
            raise AgeHeaderError("unsupported age format version (only v1 is known)")
        raise AgeHeaderError("not an age file (no age-encryption.org/v1 line)")
    lines = _Lines(src)
    lines.raw += first
    stanzas: list[Stanza] = []
    while True:
        line = lines.next()
        if line.startswith(b"---"):
            if not stanzas:
                raise AgeHeaderError("the header has no recipient stanza")
            if len(line) != _MAC_LINE_LENGTH or line[3:4] != b" ":
                raise AgeHeaderError("malformed header MAC line")
            mac = b64decode(line[4:-1], "the header MAC")
            mac_input = bytes(lines.raw[: len(lines.raw) - len(line) + 3])
            return Header(tuple(stanzas), mac, mac_input)
        if not line.startswith(b"-> "):
            raise AgeHeaderError("expected a recipient stanza (->) or the MAC line (---)")
        args = line[3:-1].split(b" ")
        if not all(_valid_argument(a) for a in args):
            raise AgeHeaderError("a stanza argument is empty or has invalid characters")
        body = bytearray()
        while True:
            body_line = lines.next()[:-1]
            if len(body_line) > 64:
                raise AgeHeaderError("a stanza body line is longer than 64 columns")
            body += body_line
            if len(body_line) < 64:
                break
        decoded = b64decode(bytes(body), "a stanza body")
        stanzas.append(Stanza(args[0].decode(), tuple(a.decode() for a in args[1:]), decoded))


def format_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    out = bytearray(VERSION_LINE)
    for stanza in stanzas:
        arg_line = b" ".join([b"->", stanza.type.encode(), *(a.encode() for a in stanza.args)])
        if not all(_valid_argument(a) for a in arg_line.split(b" ")[1:]):
            raise ValueError("stanza arguments must be non-empty printable ASCII")
        out += arg_line + b"\n"
        body = b64encode(stanza.body)
        # Full 64-column lines, then always a final shorter (possibly empty) line.
        for i in range(0, len(body) - len(body) % 64, 64):
            out += body[i : i + 64] + b"\n"
        out += body[len(body) - len(body) % 64 :] + b"\n"
    out += b"---"
    return bytes(out) + b" " + b64encode(_mac(file_key, bytes(out))) + b"\n"


def wrap(recipients: Sequence[Recipient], file_key: bytes) -> list[Stanza]:
    if not recipients:
        raise ValueError("no recipients given")
    stanzas = [s for r in recipients for s in r.wrap(file_key)]
    if len(stanzas) > 1 and any(s.type == "scrypt" for s in stanzas):
        raise ValueError("a passphrase must be the only recipient of a file")
    return stanzas


def unwrap(header: Header, identities: Sequence[Identity]) -> bytes:
    """The file key, after checking the header MAC with it."""
    if not identities:
        raise ValueError("no identities given")
    # A passphrase implies the file was not encrypted to anyone else (spec: "scrypt
    # recipient stanza"); a header mixing them has been tampered with.
    if len(header.stanzas) > 1 and any(s.type == "scrypt" for s in header.stanzas):
        raise AgeHeaderError("an scrypt stanza must be the only stanza in the header")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is None:
            continue
        if len(file_key) != 16:
            raise AgeHeaderError("the unwrapped file key is not 16 bytes")
        if not hmac.compare_digest(_mac(file_key, header.mac_input), header.mac):
            raise AgeHmacError("the header MAC does not match: the header was altered")
        return file_key
    raise AgeNoMatchError("none of the given identities can open this file")
