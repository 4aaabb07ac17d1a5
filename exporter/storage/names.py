"""Blob keys: the names blobs are stored under, the same for every store.

A key is ``/``-separated segments, e.g. ``packages/<uuid>.zip.age``. Each segment is
ASCII letters, digits, ``_``, ``-`` and ``.``, starts with a letter, digit or ``_``
(so never ``.`` or ``..``, and no hidden or temporary file is ever a key), and is at
most 200 characters; a key is at most 1024 characters (S3's limit). Anything else,
in particular absolute paths, backslashes, NUL, empty segments and ``..``, raises
:class:`~exporter.errors.InvalidBlobKeyError` before any storage is touched. Because
the rules are this narrow, a key maps to a file path or an S3 object name as it is.
"""

from __future__ import annotations

import re

from exporter.errors import InvalidBlobKeyError

__all__ = ["MAX_KEY_LENGTH", "check_key", "check_prefix"]

MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")


def _why_not(key: str) -> str | None:
    """Why ``key`` is not a valid key, or None if it is."""
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"it is longer than {MAX_KEY_LENGTH} characters"
    if "\x00" in key:
        return "it contains NUL"
    if "\\" in key:
        return "it contains a backslash"
    if key.startswith("/"):
        return "it is absolute (starts with /)"
    segments = key.split("/")
    if "" in segments:
        return "it has an empty segment (// or a trailing /)"
    if ".." in segments or "." in segments:
        return "it has a . or .. segment"
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            return (
                f"segment {segment!r} is not 1-200 of A-Z a-z 0-9 _ - . "
                "starting with a letter, digit or _"
            )
    return None


def check_key(key: str) -> str:
    """``key``, if it is a valid blob key; else :class:`InvalidBlobKeyError`."""
    reason = _why_not(key) if isinstance(key, str) else "it is not a string"
    if reason is not None:
        raise InvalidBlobKeyError(f"invalid blob key {key!r}: {reason}")
    return key


def check_prefix(prefix: str) -> str:
    """``prefix``, if it is empty or a key, optionally followed by one ``/``.

    A prefix matches keys by their leading characters, as S3 does: ``stage/r1/``
    matches what is under ``stage/r1``; ``stage/r1`` also matches ``stage/r10/x``.
    """
    if not isinstance(prefix, str):
        raise InvalidBlobKeyError(f"invalid key prefix {prefix!r}: it is not a string")
    reason = _why_not(prefix.removesuffix("/")) if prefix else None
    if reason is not None:
        raise InvalidBlobKeyError(f"invalid key prefix {prefix!r}: {reason}")
    return prefix
