"""Data quality: what the sources gave over a period, per source and dataset, so the
municipality can mend them. Counts only, never a value: records rejected by field and
rule (``title: maxLength``), rows that could not be read at all (``(record): ...``),
gaps and their causes, and the share rejected month by month.

Read from the source tasks' stored results (counts a collect wrote when it finished),
in batches, so memory stays flat over a long period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, tuple_

from exporter.db.models import SourceTask
from exporter.service.context import ServiceContext

__all__ = ["MAX_DAYS", "DatasetQuality", "Quality", "data_quality"]

MAX_DAYS = 366
_BATCH = 1000
_UNREADABLE = "(record)"


@dataclass
class DatasetQuality:
    source_id: str
    dataset_id: str
    collections: int = 0
    fetched: int = 0
    accepted: int = 0
    rejected: int = 0
    unreadable: int = 0
    """Rows that could not be read as records at all (bad lines, cells, JSON)."""
    rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Rejections by (field, rule)."""
    gaps: Counter[str] = field(default_factory=Counter)
    """Collections that ended in a gap, by cause (``unreachable``, ``refused``, ...)."""
    by_month: dict[str, list[int]] = field(default_factory=dict)
    """``YYYY-MM``: [fetched, rejected]."""

    @property
    def rejected_share(self) -> float:
        return self.rejected / self.fetched if self.fetched else 0.0

    def trend(self) -> list[tuple[str, int, int, float]]:
        """(month, fetched, rejected, share rejected), oldest first."""
        return [(month, f, r, r / f if f else 0.0)
                for month, (f, r) in sorted(self.by_month.items())]


@dataclass(frozen=True)
class Quality:
    first: date
    last: date
    datasets: list[DatasetQuality]

    @property
    def collections(self) -> int:
        return sum(d.collections for d in self.datasets)


def _add(found: dict[tuple[str, str], DatasetQuality], result: dict[str, Any],
         month: str) -> None:
    key = (str(result.get("source_id", "")), str(result.get("dataset_id", "")))
    quality = found.setdefault(key, DatasetQuality(*key))
    fetched, rejected = int(result.get("fetched", 0)), int(result.get("rejected", 0))
    quality.collections += 1
    quality.fetched += fetched
    quality.accepted += int(result.get("accepted", 0))
    quality.rejected += rejected
    for reason, count in (result.get("reasons") or {}).items():
        where, _, rule = str(reason).partition(": ")
        if where == _UNREADABLE:
            quality.unreadable += int(count)
        quality.rules[(where[:100], rule[:100] or "schema")] += int(count)
    if result.get("gap"):
        quality.gaps[str(result["gap"])[:40]] += 1
    month_counts = quality.by_month.setdefault(month, [0, 0])
    month_counts[0] += fetched
    month_counts[1] += rejected


def data_quality(context: ServiceContext, first: date, last: date) -> Quality:
    """Every collect that finished from ``first`` to ``last`` (both included, UTC days)."""
    if last < first or (last - first).days > MAX_DAYS:
        raise ValueError(f"a period is 1 to {MAX_DAYS} days")
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    found: dict[tuple[str, str], DatasetQuality] = {}
    after = (start, "")
    with context.sessions() as session:
        while True:
            rows = session.execute(
                select(SourceTask.id, SourceTask.finished_at, SourceTask.results)
                .where(tuple_(SourceTask.finished_at, SourceTask.id) > tuple_(*after),
                       SourceTask.finished_at < end)
                .order_by(SourceTask.finished_at, SourceTask.id).limit(_BATCH)).all()
            for row in rows:
                month = row.finished_at.strftime("%Y-%m")
                for result in row.results or ():
                    if isinstance(result, dict):
                        _add(found, result, month)
            if len(rows) < _BATCH:
                break
            after = (rows[-1].finished_at, rows[-1].id)
    datasets = sorted(found.values(), key=lambda d: (d.source_id, d.dataset_id))
    return Quality(first, last, datasets)
