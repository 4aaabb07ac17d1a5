"""Errors raised by the package formats.

The tree::

    FormatError                     anything wrong with data a reader was given
    ├── ManifestError               SHA256SUMS is malformed or does not match
    ├── SignatureError              a signature is malformed, by another key, or wrong
    ├── ArmorError                  ASCII armor is malformed
    └── AgeError                    an age file could not be decrypted
        ├── AgeHeaderError          the header is malformed or unsupported
        ├── AgeHmacError            the header MAC does not match (tampered header)
        ├── AgeNoMatchError         no identity given can open the file
        └── AgePayloadError         the payload is truncated or fails authentication

Writers raise ``ValueError`` for bad arguments; readers raise these for bad data.
"""

from __future__ import annotations

__all__ = [
    "AgeError",
    "AgeHeaderError",
    "AgeHmacError",
    "AgeNoMatchError",
    "AgePayloadError",
    "ArmorError",
    "FormatError",
    "ManifestError",
    "SignatureError",
]


class FormatError(Exception):
    """Data handed to a reader in `formats` is not what it claims to be."""


class ManifestError(FormatError):
    """A SHA256SUMS manifest is malformed, or a file does not match it."""


class SignatureError(FormatError):
    """A signature is malformed, made by another key, or does not verify."""


class ArmorError(FormatError):
    """ASCII armor is malformed."""


class AgeError(FormatError):
    """An age-encrypted file could not be decrypted."""


class AgeHeaderError(AgeError):
    """The age header is malformed or uses something this reader refuses."""


class AgeHmacError(AgeError):
    """The age header MAC does not verify: the header was altered."""


class AgeNoMatchError(AgeError):
    """None of the identities given can unwrap the file key."""


class AgePayloadError(AgeError):
    """The age payload is truncated, altered, or has trailing data."""
