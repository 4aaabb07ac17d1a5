"""``file``: a folder of CSV or JSON Lines files, such as a legacy system's exports.

Each dataset reads the files matching its ``pattern`` in name order and keeps the rows
whose ``subject_column`` holds the subject's CPR number (with or without the dash).
Files are streamed: a page is at most ``page_size`` records and reads at most about
``scan_bytes``; the cursor is the file's name and a byte offset, so the connector keeps
nothing between calls. UTF-8 (with or without BOM) and Windows-1252, and ``;``, ``,``,
tab or ``|`` delimiters are recognised; Danish dates and numbers are the mapping's job
(``date = "dd-mm-yyyy"``, ``number = "da"``). See ``docs/connectors.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import orjson

from exporter.connectors._config import parse_settings
from exporter.connectors.base import Page, Subject
from exporter.connectors.file.reader import FileFormat, read_chunk
from exporter.connectors.file.settings import FileOptions, FileSettings
from exporter.errors import PermanentSourceError, RetryableSourceError
from exporter.profile import DatasetSettings

__all__ = ["FileConnector", "FileSettings"]


class FileConnector:
    """Reads the subject's rows from files; see the module docstring."""

    name: ClassVar[str] = "file"
    settings_type: ClassVar[type[FileSettings]] = FileSettings

    __slots__ = ("_folder", "settings")

    def __init__(self, settings: FileSettings) -> None:
        self.settings = settings
        self._folder = Path(settings.folder)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        return cls(parse_settings(FileSettings, settings, "file settings"))

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        try:
            options = self.settings.file_options(dataset.options)
        except ValueError as exc:
            raise PermanentSourceError(f"dataset {dataset.id!r}: {exc}") from None
        files = self._files(options)
        if not files:
            return Page([], None)
        name, offset = _parse_cursor(cursor) if cursor else (files[0], 0)
        if name not in files:
            raise PermanentSourceError(f"the file {name} went away during the export")
        fmt = FileFormat(options.format, options.subject_column, options.delimiter,
                         options.encoding, self.settings.max_line_bytes)
        try:
            with (self._folder / name).open("rb") as stream:
                chunk = read_chunk(stream, fmt, subject.cpr.digits, offset,
                                   self.settings.page_size, self.settings.scan_bytes)
        except PermanentSourceError as exc:
            raise PermanentSourceError(f"{name}: {exc}") from None
        except OSError as exc:
            raise RetryableSourceError(f"cannot read {name} ({exc.strerror})") from None
        if not chunk.at_end:
            return Page(chunk.records, _cursor(name, chunk.offset))
        following = files.index(name) + 1
        if following < len(files):
            return Page(chunk.records, _cursor(files[following], 0))
        return Page(chunk.records, None)

    def check(self) -> None:
        """The folder can be listed (``egnedata sources check``)."""
        self._files(self.settings)

    def _files(self, options: FileOptions) -> list[str]:
        try:
            return sorted(p.name for p in self._folder.glob(options.pattern) if p.is_file())
        except OSError as exc:
            raise RetryableSourceError(f"cannot list the folder ({exc.strerror})") from None


def _cursor(name: str, offset: int) -> str:
    return orjson.dumps([name, offset]).decode()


def _parse_cursor(cursor: str) -> tuple[str, int]:
    try:
        name, offset = orjson.loads(cursor)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise PermanentSourceError("invalid cursor") from None
    if not isinstance(name, str) or not isinstance(offset, int) or offset < 0:
        raise PermanentSourceError("invalid cursor")
    return name, offset
