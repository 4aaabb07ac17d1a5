"""The project's errors.

The tree::

    EgneDataError                   root of everything the exporter raises on purpose
    ├── ProfileError                a municipality profile is wrong (names file and key)
    ├── InvalidCprError             a CPR number is malformed or impossible
    ├── KeyringError                a key is missing, unreadable or too open (fail closed)
    └── SourceError                 a source could not be read
        ├── RetryableSourceError    worth trying again: timeouts, 5xx, 429, connection
        └── PermanentSourceError    will fail the same way again: 4xx, bad config

Errors in the package formats themselves are ``formats.errors.FormatError``.
"""

from __future__ import annotations

__all__ = [
    "EgneDataError",
    "InvalidCprError",
    "KeyringError",
    "PermanentSourceError",
    "ProfileError",
    "RetryableSourceError",
    "SourceError",
]


class EgneDataError(Exception):
    """Base class for the exporter's own errors."""


class ProfileError(EgneDataError):
    """A municipality profile could not be loaded; the message names file and key."""


class InvalidCprError(EgneDataError, ValueError):
    """A CPR number is malformed or names an impossible date."""


class KeyringError(EgneDataError):
    """A key needed to sign or encrypt is missing or unusable; nothing is written."""


class SourceError(EgneDataError):
    """A source system could not be read."""


class RetryableSourceError(SourceError):
    """A source failed in a way that may pass: timeout, 5xx, 429, connection refused."""


class PermanentSourceError(SourceError):
    """A source failed in a way that will repeat: bad request, bad config, 4xx."""
