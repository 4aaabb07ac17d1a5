"""CSV per dataset, for spreadsheets: semicolon-separated, UTF-8 with BOM, CRLF.

Danish Excel opens such a file directly with the columns and letters right. Numbers use
a decimal comma, dates stay ISO 8601 (Excel reads them as dates), references show the
record id they point at, and nested objects become ``parent.child`` columns. Every
free-text cell goes through :func:`formats.text.csv_text`, so a value cannot run as a
formula; dates, ids, references and enumerated values are held to safe patterns by the
record's schema, which the writer checks once when it starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import CodeType
from typing import IO, Any

from formats.records import Field, RecordType
from formats.text import FORMULA_TRIGGERS, csv_text

__all__ = ["CsvWriter", "format_cell"]

_FLUSH_ROWS = 2000
_REMEMBER_LENGTH = 200  # texts up to this long are remembered, up to this many:
_REMEMBER_COUNT = 16384
_SAFE_KINDS = ("date", "ref")


def format_cell(value: Any) -> str:
    """Any JSON value as a safe cell; numbers with a decimal comma."""
    kind = value.__class__
    if kind is float:
        return repr(value).replace(".", ",")
    if kind is str:
        return csv_text(value)
    if value is None:
        return ""
    if kind is bool:
        return "ja" if value else "nej"
    if kind is int:
        return str(value)
    return csv_text(str(value))


def _is_safe(spec: Field) -> bool:
    """Values the schema already restricts to text a spreadsheet cannot execute."""
    if spec.kind in _SAFE_KINDS:
        return True
    if spec.kind == "enum":
        return all(
            isinstance(v, str) and v.isprintable() and v[:1] not in FORMULA_TRIGGERS
            for v in spec.enum
        )
    return False


def _quote(text: str) -> str:
    """RFC 4180 quoting, only where the cell needs it."""
    if ";" in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _cell(value: Any) -> str:
    return _quote(format_cell(value))


def _nested(inner: Any, name: str) -> str:
    return _quote(format_cell(inner.get(name))) if isinstance(inner, Mapping) else ""


def _safe_const(record_type: RecordType, spec: Field) -> bool:
    value = record_type.schema["properties"][spec.name].get("const")
    return isinstance(value, str) and value.isprintable() and value[:1] not in FORMULA_TRIGGERS


def _cell_expression(record_type: RecordType, spec: Field, parent: str | None) -> str:
    """A Python expression for one cell, reading the record through ``g`` (dict.get).

    The common case is inline (a call per cell adds up): a text or a float the writer
    has seen before (``_seen``); anything else goes through a function.
    """
    name = repr(spec.name)
    if parent is not None:
        return f"_nested(g({parent!r}), {name})"
    if _is_safe(spec) or (spec.kind == "const" and _safe_const(record_type, spec)):
        return f"(g({name}) or '')"
    if spec.kind == "string":
        return f"((_seen(v) if (v := g({name})).__class__ is str else None) or _text(v))"
    if spec.kind == "number":
        return f"((_seen(v) if (v := g({name})).__class__ is float else None) or _number(v))"
    return f"_cell(g({name}))"


def _remembering(seen: dict[Any, str]) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """Text and number cells that remember what they made in ``seen``: titles, benefit
    names and amounts repeat. Only strings and floats are kept, so no two keys are
    equal across types (``1 == 1.0`` would be)."""

    def text(value: Any) -> str:
        if value.__class__ is not str:
            return _quote(format_cell(value))
        cell = _quote(csv_text(value))
        if len(value) < _REMEMBER_LENGTH and len(seen) < _REMEMBER_COUNT:
            seen[value] = cell
        return cell

    def number(value: Any) -> str:
        if value.__class__ is not float:
            return _cell(value)
        # A float's repr never holds ";", quotes or newlines: no quoting needed.
        cell = repr(value).replace(".", ",")
        if len(seen) < _REMEMBER_COUNT:
            seen[value] = cell
        return cell

    return text, number


def _rows_function(record_type: RecordType) -> Callable[[Iterable[Mapping[str, Any]]], str]:
    """A function for a record type that turns a page of records into CSV rows.

    Built from the schema's field list (names are plain identifiers, checked by the
    schemas' ``propertyNames`` rule, and are embedded with ``repr``), because a single
    f-string is several times faster than the csv module plus a getter call per cell;
    it loops in a comprehension, without a call per record.
    Cells that the schema holds to safe patterns (dates, ids, references, enumerations
    and constants checked in :func:`_is_safe`) need no quoting; every other cell is
    quoted as needed. Each writer remembers its own texts, so nothing of one
    dataset outlives its writer.
    """
    cells = ["(g('id') or '')"]
    for spec in record_type.fields:
        if spec.kind == "object":
            cells.extend(_cell_expression(record_type, sub, spec.name) for sub in spec.subfields)
        else:
            cells.append(_cell_expression(record_type, spec, None))
    row = 'f"' + ";".join("{" + cell + "}" for cell in cells) + '\\r\\n"'
    source = (
        f"def rows(records):\n"
        f"    return ''.join([{row} for record in records for g in (record.get,)])\n"
    )
    seen: dict[Any, str] = {}
    text, number = _remembering(seen)
    namespace: dict[str, Any] = {
        "_seen": seen.get,
        "_text": text,
        "_number": number,
        "_nested": _nested,
        "_cell": _cell,
    }
    exec(_compiled(source, record_type.name), namespace)  # noqa: S102
    rows: Callable[[Iterable[Mapping[str, Any]]], str] = namespace["rows"]
    return rows


@functools.lru_cache(maxsize=256)
def _compiled(source: str, name: str) -> CodeType:
    """Compiling costs more than a small dataset's rows: each distinct source once."""
    return compile(source, f"<csv rows {name}>", "exec")


class CsvWriter:
    """Streams one dataset's records as CSV rows."""

    def __init__(self, out: IO[bytes], record_type: RecordType) -> None:
        self._out = out
        self._rows = _rows_function(record_type)
        headings = ["Id"]
        for spec in record_type.fields:
            if spec.kind == "object":
                headings.extend(f"{spec.title_da}: {sub.title_da}" for sub in spec.subfields)
            else:
                headings.append(spec.title_da)
        self._lines = [";".join(_quote(csv_text(h)) for h in headings) + "\r\n"]
        self._pending = 0  # rows in _lines
        self._bom = True
        self.count = 0

    def write(self, record: Mapping[str, Any]) -> None:
        self.write_all((record,))

    def write_all(self, records: Sequence[Mapping[str, Any]]) -> None:
        self._lines.append(self._rows(records))
        self._written(len(records))

    def _written(self, rows: int) -> None:
        self.count += rows
        self._pending += rows
        if self._pending >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        text = "".join(self._lines)
        self._lines.clear()
        self._pending = 0
        self._out.write(text.encode("utf-8-sig" if self._bom else "utf-8"))
        self._bom = False

    def close(self) -> None:
        self._flush()
