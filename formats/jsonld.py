"""JSON-LD writers: one streamed document per dataset, and the package catalogue.

A dataset file is ``{"@context": "../context.jsonld", "@graph": [record, …]}`` written
one record at a time, so memory does not grow with the number of records. Records are
validated before they get here, and the schemas only allow plain field names, so a
source cannot smuggle JSON-LD keywords (``@context``, ``@id`` …) into a record: the
context aliases ``id`` and ``type`` to ``@id`` and ``@type`` and those are set by the
pipeline, not the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import orjson

__all__ = ["CONTEXT_FILE", "DatasetWriter", "dumps_document"]

CONTEXT_FILE = "context.jsonld"


class DatasetWriter:
    """Streams one dataset's records into a JSON-LD document."""

    def __init__(self, out: IO[bytes], *, context_ref: str = "../" + CONTEXT_FILE) -> None:
        self._out = out
        self._first = True
        self.count = 0
        out.write(b'{"@context":' + orjson.dumps(context_ref) + b',"@graph":[')

    def write(self, record: Mapping[str, Any]) -> None:
        data = orjson.dumps(record)
        self._out.write(b"\n" + data if self._first else b",\n" + data)
        self._first = False
        self.count += 1

    def write_raw(self, records: bytes | bytearray) -> None:
        """Already-serialised records, separated by ``,\\n`` (no leading comma)."""
        if not records:
            return
        self._out.write(b"\n" if self._first else b",\n")
        self._out.write(records)
        self._first = False

    def close(self) -> None:
        self._out.write(b"\n]}\n")


def dumps_document(document: Mapping[str, Any]) -> bytes:
    """A small JSON-LD document (the catalogue), indented for people who open it."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
