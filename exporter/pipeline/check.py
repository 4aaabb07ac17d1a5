"""Checking a profile's sources: can each be reached, and do its records map and validate?

Used by ``egnedata sources check``. With a subject (``--cpr`` or the source's
``check_cpr``) it fetches the first page of every dataset, maps it and validates a
sample against the record type; without one it only checks that the source can be
reached, for connectors that can do that without asking about a person. Results hold
counts and reasons (field and rule), never record values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from exporter.connectors import Connector, Subject, connector_class
from exporter.cpr import Cpr
from exporter.errors import SourceError
from exporter.mapping import map_page
from exporter.pipeline.collect import id_prefix, to_record
from exporter.profile import DatasetSettings, Profile, SourceSettings
from formats.records import record_type, record_types

__all__ = ["SourceCheck", "check_profile", "check_source"]


@dataclass(frozen=True)
class SourceCheck:
    """One line of the check: a dataset, or the source itself when no dataset was read."""

    source_id: str
    dataset_id: str  # "" for the source as a whole
    ok: bool
    what: str  # "records", "connection" or "settings"
    fetched: int = 0
    valid: int = 0
    detail: str = ""


def _dataset(connector: Connector, subject: Subject, source: SourceSettings,
             dataset: DatasetSettings, code: str, sample: int) -> SourceCheck:
    try:
        page = map_page(connector.fetch(subject, dataset, None), dataset)
    except SourceError as exc:
        return SourceCheck(source.id, dataset.id, False, "records", detail=str(exc))
    rt = record_type(dataset.record_type)
    prefixes = {name: id_prefix(code, dataset.references.get(name, source.id), name)
                for name in record_types()}
    reasons: Counter[str] = Counter()
    checked = page.records[:sample]
    for raw in checked:
        _, reason = to_record(raw, rt, prefixes)
        if reason is not None:
            reasons[reason] += 1
    valid = len(checked) - sum(reasons.values())
    if reasons:
        detail = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(3))
        return SourceCheck(source.id, dataset.id, False, "records", len(checked), valid,
                           f"{sum(reasons.values())} of {len(checked)} rejected: {detail}")
    note = "no records about this person" if not checked else ""
    return SourceCheck(source.id, dataset.id, True, "records", len(checked), valid, note)


def check_source(source: SourceSettings, cpr: Cpr | None, code: str,
                 sample: int = 20) -> list[SourceCheck]:
    try:
        connector = connector_class(source.connector).from_settings(source.settings)
    except (KeyError, ValueError, TypeError) as exc:
        return [SourceCheck(source.id, "", False, "settings", detail=str(exc).strip("'\""))]
    if cpr is None and source.check_cpr:
        cpr = Cpr.parse(source.check_cpr)
    if cpr is None:
        check = getattr(connector, "check", None)
        if not callable(check):
            return [SourceCheck(source.id, "", True, "connection",
                                detail="not checked: no --cpr or check_cpr, and the "
                                       "connector cannot check without a person")]
        try:
            check()
        except SourceError as exc:
            return [SourceCheck(source.id, "", False, "connection", detail=str(exc))]
        return [SourceCheck(source.id, "", True, "connection",
                            detail="reachable; records not checked (no --cpr or check_cpr)")]
    subject = Subject(cpr)
    return [_dataset(connector, subject, source, ds, code, sample) for ds in source.datasets]


def check_profile(profile: Profile, cpr: Cpr | None, sample: int = 20) -> list[SourceCheck]:
    """Check every source of ``profile``; see the module docstring."""
    results: list[SourceCheck] = []
    for source in profile.sources:
        results.extend(check_source(source, cpr, profile.municipality.code, sample))
    return results
