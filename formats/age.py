"""age v1 file encryption (C2SP age, ``age-encryption.org/v1``) on PyNaCl primitives.

An age file is a text header, then the binary payload::

    age-encryption.org/v1
    -> X25519 <ephemeral share>          one stanza per recipient, each wrapping the
    <base64 body: the wrapped file key>  same random 16-byte file key
    --- <HMAC-SHA-256 of the header, keyed from the file key>
    <16-byte nonce><64 KiB ChaCha20-Poly1305 chunks, the last one flagged>

What the spec's sections say, and where it is done (in :mod:`formats._age`):

- "Header", "Recipient stanza", "Header MAC" (``header``): strict parsing, canonical
  unpadded base64, lines of at most 16 KiB and a header of at most 1 MiB.
- "The X25519 recipient type" (``recipients``): ``age1…`` recipients and
  ``AGE-SECRET-KEY-1…`` identities (Bech32, ``bech32``); low-order shares refused.
- "The scrypt recipient type": a passphrase is always the only stanza. We encrypt
  with work factor 2^18 by default and never above 2^20 (:data:`MAX_WORK_FACTOR`,
  what browser clients accept); decrypting refuses more than ``max_work_factor``
  (2^20 unless the caller raises it), since each step doubles time and memory.
- "Payload" (``stream``): STREAM chunks, streamed both ways in fixed memory; the
  final chunk is authenticated, and trailing data refused, before the end of the
  plaintext is reported.
- "ASCII armor" (``armor``): strict PEM, read and written; armored input is
  recognised by itself.

:func:`rewrap` gives a file a new header for new recipients and copies the payload
through byte for byte: delivering to someone new costs a header, not a re-encryption.

Every malformed, truncated or altered input raises a :class:`formats.errors.AgeError`
subclass or :class:`formats.errors.ArmorError`, named after the failure kinds of the
spec's test vectors (header, HMAC, no match, payload, armor); bad arguments raise
``ValueError``.
"""

from __future__ import annotations

from formats._age.api import (
    NewHeader,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    rewrap,
    rewrap_header,
)
from formats._age.recipients import (
    DEFAULT_WORK_FACTOR,
    MAX_WORK_FACTOR,
    Identity,
    Recipient,
    ScryptIdentity,
    ScryptRecipient,
    Stanza,
    X25519Identity,
    X25519Recipient,
)
from formats._age.seekable import open_random_access

__all__ = [
    "DEFAULT_WORK_FACTOR",
    "MAX_WORK_FACTOR",
    "Identity",
    "NewHeader",
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
    "open_random_access",
    "rewrap",
    "rewrap_header",
]
