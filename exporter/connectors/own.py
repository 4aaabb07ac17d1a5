"""The ``own`` connector: what the citizen gave Egne Data itself (their objections and
their contributions), for the datasets "Dine indsigelser" and "Dine bidrag".

It reads nothing by itself: the service puts the citizen's records into its settings
when it collects (:func:`exporter.flags.package.with_own_records`), so it holds no
state between calls and no database access, like every connector. Without records it
serves none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from exporter.connectors.base import Page, Subject
from exporter.profile import DatasetSettings

__all__ = ["OwnDataConnector"]


@dataclass(frozen=True)
class OwnDataConnector:
    name: ClassVar[str] = "own"
    records: Mapping[str, list[Any]] = field(default_factory=dict)
    """Raw records by record type (``Flag``, ``Contribution``), given by the service."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        unknown = set(settings) - {"records"}
        if unknown:
            raise ValueError(f"the own connector takes no settings ({', '.join(sorted(unknown))})")
        return cls(settings.get("records", {}))

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        return Page(list(self.records.get(dataset.record_type, [])), None)
