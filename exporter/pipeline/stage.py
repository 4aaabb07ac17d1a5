"""Staging: where collected records wait, encrypted, until the package is assembled.

Each dataset's files are staged as the package's deflated ZIP entries, and its
summary beside them, each an age-encrypted stream. The exporter's
command line stages in a temporary folder under a key that exists only in memory for
the run; the service stages in its blob store under the vault key. Either way no
personal data touches a disk in plaintext.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from formats import age

__all__ = ["EphemeralStage", "Stage", "check_name", "read_records"]

_CHUNK = 1 << 20
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}\.(jsonld|csv|summary)$")


class Stage(Protocol):
    def writer(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def reader(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]: ...

    def discard(self, name: str) -> None: ...


def check_name(name: str) -> str:
    """``name``, if it is a staged stream's name (``<dataset id>.jsonld|csv|summary``)."""
    if not _NAME.fullmatch(name):  # fullmatch: "$" alone lets a final newline through
        raise ValueError(f"bad dataset id {name!r}")
    return name


def read_records(stream: IO[bytes]) -> Iterator[Mapping[str, Any]]:
    """The records of a staged ``<dataset id>.jsonld`` stream, one at a time.

    The stream is the dataset's JSON-LD document, deflated. orjson escapes newlines
    inside strings, so after the document's opening line each record is a line of its
    own, ending in a comma but for the last.
    """
    inflater = zlib.decompressobj(-15)
    pending = b""
    opening = True
    while True:
        chunk = stream.read(_CHUNK)
        data = pending + (inflater.decompress(chunk) if chunk else inflater.flush())
        lines = data.split(b"\n")
        pending = lines.pop() if chunk else b""
        for line in lines:
            if opening:
                opening = False
            elif line.startswith(b"{"):
                yield orjson.loads(line.removesuffix(b","))
        if not chunk:
            return


class EphemeralStage:
    """A temporary folder of encrypted streams under a key held only in memory."""

    def __init__(self, parent: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="egnedata-stage-", dir=parent))
        self._identity = age.X25519Identity.generate()

    def _path(self, name: str) -> Path:
        return self._dir / f"{check_name(name)}.age"

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[IO[bytes]]:
        path = self._path(name)
        with path.open("wb") as raw, age.encrypt_stream(raw, [self._identity.recipient]) as out:
            yield out

    @contextlib.contextmanager
    def reader(self, name: str) -> Iterator[IO[bytes]]:
        with self._path(name).open("rb") as raw:
            stream = age.decrypt_stream(raw, [self._identity])
            try:
                yield stream
            finally:
                stream.close()

    def discard(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EphemeralStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
