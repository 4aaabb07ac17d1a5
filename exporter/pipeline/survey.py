"""The overview's dry run: what each source holds about a person, read through the same
path as collecting a package (:func:`~exporter.pipeline.collect.dataset_pages`) but
building nothing: counts, the period the records span, the latest records, and the
contact units. Nothing is staged or stored here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from exporter.connectors import Subject
from exporter.errors import SourceError
from exporter.pipeline.collect import (
    KEEP_LIMITS,
    DatasetResult,
    dataset_pages,
    gap_kind,
    open_connector,
)
from exporter.profile import SourceSettings
from formats.records import record_type
from formats.summary import DatasetSummary

__all__ = ["DatasetSurvey", "survey_source"]

log = logging.getLogger(__name__)


@dataclass
class DatasetSurvey:
    """One dataset as a dry run found it."""

    result: DatasetResult
    summary: DatasetSummary


def survey_source(source: SourceSettings, subject: Subject, municipality_code: str, *,
                  time_limit: float, sleep: Callable[[float], None] = time.sleep,
                  ) -> list[DatasetSurvey]:
    """Read every dataset of ``source`` about ``subject`` within ``time_limit`` seconds;
    a source that fails leaves each of its datasets with a ``gap``. Never raises for
    source errors."""
    surveys = [
        DatasetSurvey(DatasetResult(ds.id, source.id, ds.record_type),
                      DatasetSummary(record_type(ds.record_type),
                                     keep_limit=KEEP_LIMITS.get(ds.record_type, 0)))
        for ds in source.datasets
    ]
    deadline = time.monotonic() + min(time_limit, source.timeout_seconds)
    try:
        connector = open_connector(source)
        for dataset, survey in zip(source.datasets, surveys, strict=True):
            for records in dataset_pages(connector, subject, source, dataset, survey.result,
                                         municipality_code=municipality_code,
                                         deadline=deadline, sleep=sleep):
                survey.summary.add_all(records)
    except Exception as exc:
        kind = gap_kind(exc)
        detail = str(exc) if isinstance(exc, SourceError) else type(exc).__name__
        log.warning("overview: source %s failed (%s): %s", source.id, kind, detail)
        for survey in surveys:
            survey.result.gap = kind
    return surveys
