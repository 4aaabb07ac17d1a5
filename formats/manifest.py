"""``SHA256SUMS``: the BSD-tag manifest (``SHA256 (path) = hex``) of a package.

This is the format ``sha256sum --tag`` writes, ``sha256sum -c`` and ``signify -C``
check, and the minisign signature covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from formats.errors import ManifestError

__all__ = ["format_manifest", "parse_manifest"]

_LINE = re.compile(r"SHA256 \((?P<path>[^\n]+)\) = (?P<digest>[0-9a-f]{64})")


def _check_path(path: str) -> None:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(c in path for c in "\n\r\x00")
        or ") = " in path
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ValueError(f"unsafe path for a manifest: {path!r}")


def format_manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for path, digest in sorted(entries):
        _check_path(path)
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"not a SHA-256 hex digest for {path!r}")
        lines.append(f"SHA256 ({path}) = {digest}\n")
    return "".join(lines).encode("utf-8")


def parse_manifest(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError("SHA256SUMS is not UTF-8") from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.fullmatch(line)
        if not match:
            raise ManifestError(f"SHA256SUMS line {number} is malformed")
        path = match["path"]
        try:
            _check_path(path)
        except ValueError:
            raise ManifestError(f"SHA256SUMS line {number} names an unsafe path") from None
        if path in entries:
            raise ManifestError(f"SHA256SUMS lists {path!r} twice")
        entries[path] = match["digest"]
    return entries
