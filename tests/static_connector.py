"""A test connector serving raw records straight from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from exporter.connectors import Page, Subject
from exporter.errors import RetryableSourceError
from exporter.profile import DatasetSettings


@dataclass(frozen=True)
class StaticConnector:
    name: ClassVar[str] = "static"
    records: Mapping[str, list[Any]]
    page_size: int = 2
    fail_pages: int = 0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        return cls(**settings)

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        start = int(cursor or 0)
        if self.fail_pages and start == 0:
            raise RetryableSourceError("static source down")
        rows = self.records.get(dataset.record_type, [])
        end = start + self.page_size
        return Page(rows[start:end], str(end) if end < len(rows) else None)
