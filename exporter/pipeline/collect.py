"""Collecting: page through a source, turn raw records into package records, validate,
and stage them.

The pipeline owns paging, retries with backoff, the source's time limit, validation and
id mapping; connectors only fetch. A record that fails its schema is left out, counted
and its reason (field and rule, never the value) is kept for the data-quality report. A
source that fails after its retries leaves a gap: its datasets are dropped from the
package and the package says so.
"""

from __future__ import annotations

import io
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from exporter.connectors import Connector, Subject, connector_class
from exporter.errors import PermanentSourceError, RetryableSourceError, SourceError
from exporter.mapping import map_page
from exporter.pipeline.stage import STAGED_NAMES, Stage, StagedWriter
from exporter.profile import DatasetSettings, SourceSettings
from formats.container import EntryDeflater
from formats.csvfile import CsvWriter
from formats.jsonld import DatasetWriter
from formats.records import RECORD_ID_PREFIX, RecordType, record_type, record_types
from formats.summary import DatasetSummary

__all__ = [
    "GAP_REASONS",
    "KEEP_LIMITS",
    "DatasetResult",
    "Progress",
    "SourceTimeout",
    "collect_source",
    "dataset_pages",
    "gap_kind",
    "id_prefix",
    "open_connector",
    "to_record",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
"""Called with a dataset id and how many more raw records were fetched."""

_MAX_NATIVE_ID = 200
_BUFFER = 256 * 1024
KEEP_LIMITS = {"OrganisationUnit": 500, "Person": 1}
"""Records kept whole in a summary, for looking up contacts and the subject's name."""
_MAX_REASONS = 100

GAP_REASONS: Mapping[str, Mapping[str, str]] = {
    "unreachable": {
        "da": "kilden kunne ikke nås",
        "en": "the source could not be reached",
    },
    "refused": {
        "da": "kilden afviste forespørgslen",
        "en": "the source refused the request",
    },
    "timeout": {
        "da": "kilden svarede ikke i tide",
        "en": "the source did not answer in time",
    },
    "error": {
        "da": "der opstod en fejl i forbindelsen til kilden",
        "en": "an error occurred while reading the source",
    },
}


class SourceTimeout(RetryableSourceError):
    """The source's time limit ran out."""


@dataclass
class DatasetResult:
    """The outcome of collecting one dataset; holds counts, never personal data."""

    dataset_id: str
    source_id: str
    record_type: str
    fetched: int = 0
    accepted: int = 0
    rejected: int = 0
    outside_period: int = 0  # valid, but outside the period the request asked for
    reasons: Counter[str] = field(default_factory=Counter)
    gap: str | None = None  # a key of GAP_REASONS when the source failed
    source_seconds: float = 0.0  # time spent waiting for the source itself

    @property
    def complete(self) -> bool:
        return self.gap is None


def _type_slug(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def id_prefix(municipality_code: str, source_id: str, type_name: str) -> str:
    """``urn:egnedata:0751:sagsindeks:case:`` — the native id is appended, quoted."""
    return f"{RECORD_ID_PREFIX}{municipality_code}:{source_id}:{_type_slug(type_name)}:"


def _native(value: Any) -> str | None:
    if value.__class__ is str:
        if value.isalnum() and value.isascii() and len(value) <= _MAX_NATIVE_ID:
            return value  # the common case; quote() is slow
        text = value
    elif value.__class__ is int:
        text = str(value)
    else:
        return None
    if not text or len(text) > _MAX_NATIVE_ID:
        return None
    return quote(text, safe="")


def _map(
    raw: Any, rt: RecordType, prefixes: Mapping[str, str]
) -> tuple[dict[str, Any] | None, str | None]:
    """:func:`to_record` without the schema check."""
    if raw.__class__ is not dict and not isinstance(raw, Mapping):
        return None, "(record): not an object"
    native = raw.get("id")
    # The common case inline (alphanumeric ASCII ids): a call per record adds up.
    if not (
        native.__class__ is str
        and native.isalnum()
        and native.isascii()
        and len(native) <= _MAX_NATIVE_ID
    ):
        native = _native(native)
        if native is None:
            return None, "id: missing or invalid"
    # id and type first, so they lead every record in the files.
    name = rt.name
    record: dict[str, Any] = {"id": None, "type": None, **raw}
    record["id"] = prefixes[name] + native
    record["type"] = name
    for ref_field, target in rt.ref_items:
        value = record.get(ref_field)
        if value is not None:
            simple = value.__class__ is str and value.isalnum() and value.isascii()
            ref = value if simple and len(value) <= _MAX_NATIVE_ID else _native(value)
            if ref is None:
                return None, f"{ref_field}: invalid reference"
            record[ref_field] = prefixes[target] + ref
    return record, None


def to_record(
    raw: Any, rt: RecordType, prefixes: Mapping[str, str]
) -> tuple[dict[str, Any] | None, str | None]:
    """A raw source record as a package record, or why it cannot be one.

    The source's own id becomes a stable ``urn:egnedata:…`` id, references to other
    records of the same source likewise, and ``type`` is set to the record type. The
    result is validated against the record type's schema.
    """
    record, reason = _map(raw, rt, prefixes)
    if record is None:
        return None, reason
    reason = rt.first_error(record)
    return (record, None) if reason is None else (None, reason)


def _map_plain(
    raws: Sequence[Any], rt: RecordType, prefixes: Mapping[str, str]
) -> list[dict[str, Any]] | None:
    """The page mapped as :func:`_map` would, if every record is a dict whose id and
    references are plain alphanumeric ASCII (the usual case); else None.

    The loop is :func:`_map`'s with its lookups hoisted out: it runs once a record.
    """
    name = rt.name
    own = prefixes[name]
    refs = [(ref_field, prefixes[target]) for ref_field, target in rt.ref_items]
    records = []
    for raw in raws:
        native = raw.get("id") if raw.__class__ is dict else None
        if not (
            native.__class__ is str
            and native.isalnum()
            and native.isascii()
            and len(native) <= _MAX_NATIVE_ID
        ):
            return None
        record: dict[str, Any] = {"id": None, "type": None, **raw}
        record["id"] = own + native
        record["type"] = name
        for ref_field, prefix in refs:
            value = record.get(ref_field)
            if value is not None:
                if not (
                    value.__class__ is str
                    and value.isalnum()
                    and value.isascii()
                    and len(value) <= _MAX_NATIVE_ID
                ):
                    return None
                record[ref_field] = prefix + value
        records.append(record)
    return records


def _page_records(
    raws: Sequence[Any], rt: RecordType, prefixes: Mapping[str, str], result: DatasetResult
) -> list[dict[str, Any]]:
    """The page's records that map and conform; the others are counted in ``result``.

    Usually every record is fine, and the whole page is checked in one call; only a
    page with a bad record goes through record by record, to tell which and why.
    """
    mapped = _map_plain(raws, rt, prefixes)
    if mapped is not None and (not mapped or rt.all_valid(mapped)):
        return mapped
    records = []
    for raw in raws:
        record, reason = to_record(raw, rt, prefixes)
        if record is None:
            result.rejected += 1
            if reason in result.reasons or len(result.reasons) < _MAX_REASONS:
                result.reasons[str(reason)] += 1
        else:
            records.append(record)
    return records


def _fetch_with_retries(
    connector: Connector,
    subject: Subject,
    dataset: DatasetSettings,
    cursor: str | None,
    *,
    retries: int,
    deadline: float,
    sleep: Callable[[float], None],
) -> Any:
    attempt = 0
    while True:
        if time.monotonic() > deadline:
            raise SourceTimeout("time limit reached")
        try:
            return map_page(connector.fetch(subject, dataset, cursor), dataset)
        except RetryableSourceError as exc:
            attempt += 1
            if attempt > retries:
                raise
            delay = min(30.0, 0.5 * 2 ** (attempt - 1))
            if exc.retry_after is not None:  # the source said when; it knows best
                delay = max(0.0, exc.retry_after)
                if delay > deadline - time.monotonic():
                    raise SourceTimeout("the source asked to wait past the time limit") from exc
            log.warning("source fetch failed, retry %d of %d in %.1fs", attempt, retries, delay)
            sleep(min(delay, max(0.0, deadline - time.monotonic())))


def dataset_pages(
    connector: Connector,
    subject: Subject,
    source: SourceSettings,
    dataset: DatasetSettings,
    result: DatasetResult,
    *,
    municipality_code: str,
    deadline: float,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    flag_states: Mapping[str, str] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Page through one dataset: each page's records that map, conform and fall in the
    subject's period, counted into ``result`` (the others too, by reason). A record the
    citizen has flagged carries its flag's state (``flagState``, from ``flag_states``:
    record id to state).

    The one path every reader of a source takes: collecting for a package, and the
    overview's dry run (:mod:`exporter.pipeline.survey`).
    """
    rt = record_type(dataset.record_type)
    prefixes = {
        name: id_prefix(municipality_code, dataset.references.get(name, source.id), name)
        for name in record_types()
    }
    period = None
    if rt.period is not None and (subject.period_from or subject.period_to):
        period = (
            subject.period_from.isoformat() if subject.period_from else None,
            subject.period_to.isoformat() if subject.period_to else None,
        )
    cursor: str | None = None
    while True:
        asked = time.perf_counter()
        page = _fetch_with_retries(
            connector,
            subject,
            dataset,
            cursor,
            retries=source.retries,
            deadline=deadline,
            sleep=sleep,
        )
        result.source_seconds += time.perf_counter() - asked
        records = _page_records(page.records, rt, prefixes, result)
        if period is not None and records:
            kept = [r for r in records if rt.overlaps(r, *period)]
            result.outside_period += len(records) - len(kept)
            records = kept
        result.fetched += len(page.records)
        result.accepted += len(records)
        if flag_states:
            for record in records:
                state = flag_states.get(record["id"])
                if state is not None:
                    record["flagState"] = state
        if records:
            yield records
        if progress is not None:
            progress(dataset.id, len(page.records))
        if not page.next_cursor:
            return
        if page.next_cursor == cursor:
            raise PermanentSourceError("the source returned the same cursor twice")
        cursor = page.next_cursor


def _collect_dataset(
    connector: Connector,
    subject: Subject,
    source: SourceSettings,
    dataset: DatasetSettings,
    result: DatasetResult,
    stage: Stage,
    *,
    municipality_code: str,
    deadline: float,
    progress: Progress | None,
    sleep: Callable[[float], None],
    flag_states: Mapping[str, str] | None,
) -> None:
    """Page through one dataset, staging its JSON-LD and CSV files and a summary.

    Everything record-by-record happens here, once, down to deflating the files as the
    package's ZIP entries: assembling the package afterwards only copies staged bytes,
    so the heavy work runs in parallel across sources.
    """
    rt = record_type(dataset.record_type)
    summary = DatasetSummary(rt, keep_limit=KEEP_LIMITS.get(rt.name, 0))
    with StagedWriter(stage, dataset.id) as staged:
        jsonld_entry, csv_entry = EntryDeflater(staged.jsonld), EntryDeflater(staged.csv)
        jsonld_file = io.BufferedWriter(jsonld_entry, _BUFFER)
        csv_file = io.BufferedWriter(csv_entry, _BUFFER)
        document = DatasetWriter(jsonld_file)
        table = CsvWriter(csv_file, rt)
        for records in dataset_pages(connector, subject, source, dataset, result,
                                     municipality_code=municipality_code, deadline=deadline,
                                     progress=progress, sleep=sleep,
                                     flag_states=flag_states):
            # One growing buffer: each dumps() result is freed at once, which costs
            # far less than keeping hundreds of them alive to join. orjson escapes
            # newlines inside strings, so each raw newline ends a record: the lines
            # become the document's ",\n"-separated records in one pass.
            lines = bytearray()
            for record in records:
                lines += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
            del lines[-1:]
            document.write_raw(lines.replace(b"\n", b",\n"))
            table.write_all(records)
            summary.add_all(records)
        document.close()
        table.close()
        jsonld_file.flush()
        csv_file.flush()
        staged.finish(jsonld_entry.finish(), csv_entry.finish(),
                      orjson.dumps(summary.to_json()))


def open_connector(source: SourceSettings) -> Connector:
    """The source's connector; :class:`PermanentSourceError` if its settings are wrong."""
    try:
        return connector_class(source.connector).from_settings(source.settings)
    except (KeyError, ValueError, TypeError) as exc:
        raise PermanentSourceError(f"source {source.id!r} is misconfigured: {exc}") from exc


def gap_kind(exc: BaseException) -> str:
    """The :data:`GAP_REASONS` key for a source that failed with ``exc``."""
    if isinstance(exc, SourceTimeout):
        return "timeout"
    if isinstance(exc, RetryableSourceError):
        return "unreachable"
    if isinstance(exc, PermanentSourceError):
        return "refused"
    return "error"


def collect_source(
    source: SourceSettings,
    subject: Subject,
    municipality_code: str,
    stage: Stage,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    flag_states: Mapping[str, str] | None = None,
) -> list[DatasetResult]:
    """Collect every dataset of one source into ``stage``; never raises for source errors.
    ``flag_states`` marks the records the citizen has flagged (record id to state)."""
    results = [DatasetResult(ds.id, source.id, ds.record_type) for ds in source.datasets]
    deadline = time.monotonic() + source.timeout_seconds
    try:
        connector = open_connector(source)
        for dataset, result in zip(source.datasets, results, strict=True):
            _collect_dataset(
                connector,
                subject,
                source,
                dataset,
                result,
                stage,
                municipality_code=municipality_code,
                deadline=deadline,
                progress=progress,
                sleep=sleep,
                flag_states=flag_states,
            )
    except Exception as exc:
        kind = gap_kind(exc)
        # Only the error type and our own messages are logged: a connector's message
        # could carry data from the source.
        detail = str(exc) if isinstance(exc, SourceError) else type(exc).__name__
        log.error("source %s failed (%s): %s", source.id, kind, detail)
        for dataset, result in zip(source.datasets, results, strict=True):
            for part in STAGED_NAMES:
                stage.discard(f"{dataset.id}.{part}")
            result.gap = kind
            result.accepted = 0
    if any(r.rejected for r in results):
        for r in results:
            if r.rejected:
                log.warning(
                    "dataset %s: %d of %d records rejected: %s",
                    r.dataset_id,
                    r.rejected,
                    r.fetched,
                    dict(r.reasons.most_common(5)),
                )
    return results
