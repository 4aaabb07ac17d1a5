"""Bounded summaries of a dataset, gathered while its records stream past.

The readable pages show counts, totals, date ranges and the latest items of each
dataset; everything else is in the JSON-LD and CSV files. Memory is bounded by
``latest`` (and ``keep_all`` for small lookup datasets such as contact units), never by
the number of records.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from formats.records import RecordType, record_type

__all__ = ["DatasetSummary"]

_MAX_DISTINCT_COUNTS = 50


@dataclass
class DatasetSummary:
    """What the summary page needs to know about one dataset."""

    record_type: RecordType
    latest_limit: int = 25
    keep_limit: int = 0
    count: int = 0
    first: str | None = None
    last: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    sums: dict[str, Decimal] = field(default_factory=dict)
    kept: list[Mapping[str, Any]] = field(default_factory=list)
    _heap: list[tuple[str, int, Mapping[str, Any]]] = field(default_factory=list)
    _tiebreak: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        spec = self.record_type.summary
        self._count_by = spec.count_by
        self._sum_of = spec.sum_of
        self._sort_key = spec.sort_key
        # Sums are kept in øre (integers): exact for amounts in kroner and øre, and fast.
        self._cents: dict[str, int] = dict.fromkeys(spec.sum_of, 0)

    def add(self, record: Mapping[str, Any]) -> None:
        self.count += 1
        get = record.get
        if self._count_by:
            value = get(self._count_by)
            if value.__class__ is str and (
                value in self.counts or len(self.counts) < _MAX_DISTINCT_COUNTS
            ):
                self.counts[value] += 1
        for name in self._sum_of:
            amount = get(name)
            if amount.__class__ in (int, float):
                self._cents[name] += round(amount * 100)
        if len(self.kept) < self.keep_limit:
            self.kept.append(record)
        key = get(self._sort_key) if self._sort_key else None
        if key.__class__ is not str:
            key = ""
        if key:
            if self.first is None or key < self.first:
                self.first = key
            if self.last is None or key > self.last:
                self.last = key
        # Newest first; ties broken by arrival so the result is deterministic.
        heap = self._heap
        tiebreak = -next(self._tiebreak)
        if len(heap) < self.latest_limit:
            heapq.heappush(heap, (key, tiebreak, record))
        elif key > heap[0][0]:  # on a tie the earlier record stays: deterministic
            heapq.heapreplace(heap, (key, tiebreak, record))

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.add(record)

    @property
    def totals(self) -> dict[str, Decimal]:
        """Sums of the ``sumOf`` fields, in kroner."""
        totals = {k: Decimal(v) / 100 for k, v in self._cents.items()}
        for k, v in self.sums.items():  # from a loaded summary
            totals[k] = totals.get(k, Decimal(0)) + v
        return totals

    @property
    def latest(self) -> list[Mapping[str, Any]]:
        """Up to ``latest_limit`` records, newest first."""
        return [r for _, _, r in sorted(self._heap, key=lambda i: i[:2], reverse=True)]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form, to stage between collecting and assembling."""
        return {
            "record_type": self.record_type.name,
            "latest_limit": self.latest_limit,
            "keep_limit": self.keep_limit,
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "counts": dict(self.counts),
            "sums": {k: str(v) for k, v in self.totals.items()},
            "kept": self.kept,
            "latest": self.latest,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetSummary:
        summary = cls(
            record_type(data["record_type"]),
            latest_limit=int(data["latest_limit"]),
            keep_limit=int(data["keep_limit"]),
            count=int(data["count"]),
            first=data["first"],
            last=data["last"],
            counts=Counter(data["counts"]),
            sums={k: Decimal(v) for k, v in data["sums"].items()},
            kept=list(data["kept"]),
        )
        # Re-rank the saved newest-first list the way add() ranks them.
        n = len(data["latest"])
        summary._heap = [
            (str(r.get(summary.record_type.summary.sort_key or "", "") or ""), i - n, r)
            for i, r in enumerate(reversed(data["latest"]))
        ]
        heapq.heapify(summary._heap)
        return summary
