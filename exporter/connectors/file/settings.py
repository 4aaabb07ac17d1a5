"""The ``file`` connector's settings (``[sources.settings]``) and per-dataset options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from exporter.connectors._config import ConnectorSettings, dataset_options

__all__ = ["FileOptions", "FileSettings"]


class FileOptions(ConnectorSettings):
    """Settings a dataset's ``options`` may override: each record type has its own files."""

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
        options = dataset_options(FileOptions, self, overrides, "file")
        if not options.subject_column:
            raise ValueError("no subject_column: name the column holding the CPR number")
        return options
