"""Reading part of one file: the subject's records from a byte offset on.

Files are read as bytes, line by line, so the offset after each record is exact and a
page can start anywhere without reading what came before. Only the lines (at most
``max_line_bytes`` each) and one page of records are in memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from exporter.errors import PermanentSourceError
from formats.records import REJECTION_KEY, RejectReason

__all__ = ["Chunk", "FileFormat", "detect_encoding", "read_chunk"]

_BOM = codecs.BOM_UTF8
_SAMPLE = 64 * 1024


@dataclass(frozen=True, slots=True)
class FileFormat:
    kind: str  # csv or jsonl
    subject_column: str
    delimiter: str  # auto or the character
    encoding: str  # auto, utf-8 or windows-1252
    max_line_bytes: int


@dataclass(frozen=True, slots=True)
class Chunk:
    records: list[Any]
    offset: int  # where the next chunk starts
    at_end: bool


def _rejected(reason: str) -> dict[str, Any]:
    return {"id": "unparsed", REJECTION_KEY: RejectReason(reason)}


def detect_encoding(sample: bytes) -> str:
    """UTF-8 if the start of the file is UTF-8 (with or without BOM), else Windows-1252."""
    if sample.startswith(_BOM):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _normal(value: Any) -> str:
    return str(value).replace("-", "").replace(" ", "").strip()


def _lines(stream: IO[bytes], fmt: FileFormat, encoding: str, digits: bytes,
           state: dict[str, int]) -> Iterator[str]:
    """Decoded lines; counts bytes read in ``state["read"]``; too-long lines are skipped
    and counted in ``state["oversized"]`` when they may be the subject's."""
    limit = fmt.max_line_bytes
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        state["read"] += len(line)
        if len(line) > limit and not line.endswith(b"\n"):
            head = line
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit)
                state["read"] += len(line)
            if digits[:6] in head:
                state["oversized"] += 1
            continue
        yield line.decode(encoding, errors="replace")


def _header(stream: IO[bytes], fmt: FileFormat, encoding: str) -> tuple[list[str], str, int]:
    """The CSV header's columns, the delimiter, and where the data starts."""
    stream.seek(0)
    first = stream.readline(fmt.max_line_bytes)
    end = len(first)
    first = first.removeprefix(_BOM)
    text = first.decode(encoding, errors="replace").rstrip("\r\n")
    delimiter = _delimiter(text) if fmt.delimiter == "auto" else fmt.delimiter
    columns = next(csv.reader([text], delimiter=delimiter), [])
    return [c.strip() for c in columns], delimiter, end


def read_chunk(stream: IO[bytes], fmt: FileFormat, digits: str, start: int,
               page_size: int, scan_bytes: int) -> Chunk:
    """The subject's records from ``start``: up to ``page_size`` of them, reading at most
    about ``scan_bytes``; ``digits`` is the subject's CPR number as 10 digits."""
    stream.seek(0)
    encoding = fmt.encoding
    if encoding == "auto":
        encoding = detect_encoding(stream.read(_SAMPLE))
    data_start = 0
    columns: list[str] = []
    delimiter = ","
    if fmt.kind == "csv":
        columns, delimiter, data_start = _header(stream, fmt, encoding)
        if fmt.subject_column not in columns:
            if not columns:
                return Chunk([], start, True)  # an empty file
            raise PermanentSourceError("a file has no subject_column in its header")
    offset = max(start, data_start)
    stream.seek(offset)
    state = {"read": 0, "oversized": 0}
    lines = _lines(stream, fmt, encoding, digits.encode(), state)
    records: list[Any] = []
    if fmt.kind == "csv":
        rows: Iterator[Any] = _csv_rows(lines, columns, delimiter, fmt.subject_column, digits)
    else:
        rows = _json_rows(lines, fmt.subject_column, digits, offset == 0)
    for record in rows:
        while state["oversized"]:
            state["oversized"] -= 1
            records.append(_rejected("(record): line longer than max_line_bytes"))
        if record is not None:
            records.append(record)
        if len(records) >= page_size or state["read"] >= scan_bytes:
            return Chunk(records, offset + state["read"], False)
    records.extend(_rejected("(record): line longer than max_line_bytes")
                   for _ in range(state["oversized"]))
    return Chunk(records, offset + state["read"], True)


def _csv_rows(lines: Iterator[str], columns: list[str], delimiter: str, subject_column: str,
              digits: str) -> Iterator[Any]:
    """Per row: the subject's record, or None for another person's (to count progress)."""
    index = columns.index(subject_column)
    width = len(columns)
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None  # a malformed row: nobody's, as far as can be told
            continue
        if len(row) <= index or _normal(row[index]) != digits:
            yield None
            continue
        if len(row) > width:
            yield _rejected("(record): more cells than the header has columns")
            continue
        yield {name: value for name, value in zip(columns, row, strict=False) if value != ""}


def _json_rows(lines: Iterator[str], subject_column: str, digits: str,
               first: bool) -> Iterator[Any]:
    for line in lines:
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        if not line.strip():
            yield None
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield _rejected("(record): not valid JSON") if digits[:6] in line else None
            continue
        if not isinstance(record, dict):
            yield record if digits[:6] in line else None
            continue
        value = record.get(subject_column)
        yield record if value is not None and _normal(value) == digits else None
