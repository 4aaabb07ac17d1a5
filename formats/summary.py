"""Bounded summaries of a dataset, gathered while its records stream past.

The readable pages show counts, totals, date ranges and the latest items of each
dataset; everything else is in the JSON-LD and CSV files. Memory is bounded by
``latest`` (and ``keep_all`` for small lookup datasets such as contact units), never by
the number of records.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import methodcaller
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
    _arrived: int = 0  # records ranked so far

    def __post_init__(self) -> None:
        spec = self.record_type.summary
        self._count_by = spec.count_by
        self._sum_of = spec.sum_of
        self._sort_key = spec.sort_key
        # Sums are kept in øre (integers): exact for amounts in kroner and øre, and fast.
        self._cents: dict[str, int] = dict.fromkeys(spec.sum_of, 0)

    def add(self, record: Mapping[str, Any]) -> None:
        self.add_all((record,))

    def add_all(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Take in ``records``, in order; one pass per figure keeps each loop tight."""
        self.count += len(records)
        room = self.keep_limit - len(self.kept)
        if room > 0:
            self.kept.extend(records[:room])
        if self._count_by:
            self._count(records, self._count_by)
        for name in self._sum_of:
            self._cents[name] += sum([
                round(amount * 100)
                for amount in map(methodcaller("get", name), records)
                if amount.__class__ is float or amount.__class__ is int
            ])
        self._rank(records)

    def _count(self, records: Sequence[Mapping[str, Any]], name: str) -> None:
        """Counted a page at a time: the page's values in the order they first appear
        are let in as they would be one record at a time."""
        counts = self.counts
        for value, n in Counter(map(methodcaller("get", name), records)).items():
            if value.__class__ is str and (value in counts or len(counts) < _MAX_DISTINCT_COUNTS):
                counts[value] += n

    def _rank(self, records: Sequence[Mapping[str, Any]]) -> None:
        """The date range, and the newest records (ties broken by arrival, so the result
        is deterministic)."""
        sort_key = self._sort_key
        if sort_key:
            keys = [k if (k := r.get(sort_key)).__class__ is str else "" for r in records]
        else:
            keys = [""] * len(records)
        dated = [k for k in keys if k]
        if dated:
            low, high = min(dated), max(dated)
            if self.first is None or low < self.first:
                self.first = low
            if self.last is None or high > self.last:
                self.last = high
        heap, limit, arrived = self._heap, self.latest_limit, self._arrived
        i = 0
        while len(heap) < limit and i < len(keys):
            heapq.heappush(heap, (keys[i], -(arrived + i), records[i]))
            i += 1
        if heap and i < len(keys):
            # The lowest key kept only rises, so a record not above it now never gets in.
            lowest = heap[0][0]
            for j in [j for j in range(i, len(keys)) if keys[j] > lowest]:
                if keys[j] > heap[0][0]:  # on a tie the earlier record stays
                    heapq.heapreplace(heap, (keys[j], -(arrived + j), records[j]))
        self._arrived = arrived + len(records)

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
