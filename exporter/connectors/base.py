"""The connector contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

from exporter.cpr import Cpr

if TYPE_CHECKING:
    from exporter.profile import DatasetSettings

__all__ = ["Connector", "Page", "Subject"]


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom the data is about, and the period asked for (None: all of it).

    A connector may use the period to fetch less; the pipeline leaves out records
    outside it either way, by the dates their record type names (``x-period``).
    """

    cpr: Cpr
    period_from: date | None = None
    period_to: date | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw records from a source, and where the next page starts."""

    records: Sequence[Mapping[str, Any]]
    next_cursor: str | None = None


@runtime_checkable
class Connector(Protocol):
    """A source system adapter. Implementations keep no per-request state."""

    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        """Build from the source's ``settings`` table; raise ``ValueError`` if wrong."""
        ...

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        """One page of ``dataset``'s raw records about ``subject``, from ``cursor``.

        Raise :class:`~exporter.errors.RetryableSourceError` for failures worth trying
        again and :class:`~exporter.errors.PermanentSourceError` for the rest.
        """
        ...
