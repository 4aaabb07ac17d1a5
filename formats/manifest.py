"""``SHA256SUMS``: the BSD-tag manifest of a package, one line a file::

    SHA256 (data/sager.csv) = 3f2a…(64 lower-case hex digits)

This is what ``sha256sum --tag`` writes and ``sha256sum -c`` and ``signify -C`` check,
and what the minisign and signify signatures cover. Lines are sorted by path, so the
same files always give the same bytes.

Paths are relative, ``/``-separated and printable. Anything a checker could read two
ways (a ``) = `` inside the path, backslashes, which ``sha256sum`` treats as escapes)
or that could point outside the package (``..``, a leading ``/``) is refused when
writing and reported when reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from formats.errors import ManifestError

__all__ = ["format_manifest", "parse_manifest"]

_LINE = re.compile(r"SHA256 \((?P<path>.+)\) = (?P<digest>[0-9a-f]{64})", re.DOTALL)
_DIGEST = re.compile(r"[0-9a-f]{64}")


def _path_problem(path: str) -> str | None:
    """Why ``path`` may not appear in a manifest, or None if it may."""
    if not path:
        return "it is empty"
    if not path.isprintable():
        return "it holds a newline or another control character"
    if path.startswith("/"):
        return "it is absolute"
    if "\\" in path:
        return "it holds a backslash"
    if ") = " in path:
        return "it holds ') = ', which makes the line ambiguous"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "it has an empty, '.' or '..' component"
    return None


def format_manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    """The manifest of (path, SHA-256 hex digest) pairs, sorted by path.

    Raises ``ValueError`` for an unsafe path, a malformed digest or a repeated path.
    """
    seen: set[str] = set()
    lines = []
    for path, digest in sorted(entries):
        problem = _path_problem(path)
        if problem:
            raise ValueError(f"cannot list {path!r} in SHA256SUMS: {problem}")
        if not _DIGEST.fullmatch(digest):
            raise ValueError(f"not a lower-case SHA-256 hex digest for {path!r}")
        if path in seen:
            raise ValueError(f"{path!r} is listed twice")
        seen.add(path)
        lines.append(f"SHA256 ({path}) = {digest}\n")
    return "".join(lines).encode("utf-8")


def parse_manifest(data: bytes) -> dict[str, str]:
    """Path → digest; :class:`ManifestError` naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError("SHA256SUMS is not UTF-8 text") from None
    if text and not text.endswith("\n"):
        raise ManifestError("SHA256SUMS does not end with a newline")
    entries: dict[str, str] = {}
    # Split on LF only: a path must not smuggle in a line break of another kind.
    for number, line in enumerate(text.split("\n")[:-1], 1):
        match = _LINE.fullmatch(line)
        if not match:
            raise ManifestError(f"SHA256SUMS line {number} is not 'SHA256 (path) = hex'")
        path = match["path"]
        problem = _path_problem(path)
        if problem:
            raise ManifestError(f"SHA256SUMS line {number} names an unsafe path: {problem}")
        if path in entries:
            raise ManifestError(f"SHA256SUMS lists {path!r} twice")
        entries[path] = match["digest"]
    return entries
