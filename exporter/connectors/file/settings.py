"""The ``file`` connector's settings (``[sources.settings]``) and per-dataset options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from exporter.connectors._config import ConnectorSettings

__all__ = ["FILE_KEYS", "FileOptions", "FileSettings"]

FILE_KEYS = ("pattern", "format", "subject_column", "delimiter", "encoding")
"""Settings a dataset's ``options`` may override: each record type has its own files."""


class FileOptions(ConnectorSettings):
    pattern: str = Field(default="*.csv", min_length=1, max_length=200)
    format: Literal["csv", "jsonl"] = "csv"
    subject_column: str = Field(default="", max_length=200)
    delimiter: Literal["auto", ";", ",", "\t", "|"] = "auto"
    encoding: Literal["auto", "utf-8", "windows-1252"] = "auto"

    @field_validator("pattern")
    @classmethod
    def _inside(cls, value: str) -> str:
        if "/" in value or "\\" in value or ".." in value:
            raise ValueError("pattern names files in folder only (no / or ..)")
        return value


class FileSettings(FileOptions):
    folder: str = Field(min_length=1)
    page_size: int = Field(default=1000, ge=1, le=1_000_000)
    scan_bytes: int = Field(default=16 * 1024 * 1024, ge=4096)
    max_line_bytes: int = Field(default=1024 * 1024, ge=1024)

    def file_options(self, overrides: dict[str, Any]) -> FileOptions:
        unknown = set(overrides) - set(FILE_KEYS)
        if unknown:
            raise ValueError(f"unknown file dataset options: {', '.join(sorted(unknown))}; "
                             f"expected {', '.join(FILE_KEYS)}")
        options = FileOptions.model_validate(
            {**{k: getattr(self, k) for k in FILE_KEYS}, **overrides}
        )
        if not options.subject_column:
            raise ValueError("no subject_column: name the column holding the CPR number")
        return options
