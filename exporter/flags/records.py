"""Finding a record in a citizen's stored package, by its ``@id``.

A record's id names its source and type (``urn:egnedata:<kommune>:<source>:<type>:
<native id>``), so only the datasets of that source and type are read, and only through
the ZIP's directory with random access into the encrypted package
(:func:`exporter.delivery.download.open_package_file`). Each record of a dataset's
JSON-LD is one line, which is parsed only if it starts with the id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson

from exporter.db.models import Package, Request
from exporter.delivery.download import live_package, open_package_file
from exporter.ids import is_id
from exporter.pipeline.collect import id_prefix
from exporter.service.context import ServiceContext
from exporter.service.requests import NotFound, get_request
from formats.records import RECORD_ID_PREFIX, record_types

__all__ = ["FoundRecord", "find_record", "for_staff", "package_has_record", "record_datasets",
           "responsible_unit"]

_MAX_LINE = 1 << 20


@dataclass(frozen=True)
class FoundRecord:
    request: Request
    package: Package
    dataset_id: str
    source_id: str
    record_type: str
    record: dict[str, Any]


def record_datasets(context: ServiceContext, record_id: str) -> list[tuple[str, str, str]]:
    """The (source, dataset, record type) whose records have ids like ``record_id``."""
    if not record_id.startswith(RECORD_ID_PREFIX) or len(record_id) > 500:
        return []
    code = context.profile.municipality.code
    found = []
    for source in context.profile.sources:
        for dataset in source.datasets:
            name = dataset.record_type
            prefix = id_prefix(code, dataset.references.get(name, source.id), name)
            if record_id.startswith(prefix) and name in record_types():
                found.append((source.id, dataset.id, name))
    return found


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
        if len(pending) > _MAX_LINE:  # not a record line; skip to its end
            pending = b""
    if pending:
        yield pending


def _record_in(context: ServiceContext, package: Package, dataset_id: str,
               record_id: str) -> dict[str, Any] | None:
    """The record from the package's dataset file, or None."""
    start = orjson.dumps({"id": record_id})[:-1] + b","
    try:
        member = open_package_file(context.blobs, package, context.keyring,
                                   f"data/{dataset_id}.jsonld")
    except NotFound:
        return None  # the package was made without this dataset
    try:
        for line in _lines(member.chunks):
            if line.startswith(start):
                record: dict[str, Any] = orjson.loads(line.rstrip(b","))
                return record
    finally:
        member.chunks.close()
    return None


def package_has_record(context: ServiceContext, package: Package, dataset_id: str,
                       record_id: str) -> bool:
    return _record_in(context, package, dataset_id, record_id) is not None


def find_record(context: ServiceContext, cpr_digits: str, package_id: str,
                record_id: str) -> FoundRecord:
    """The record ``record_id`` as the citizen's package ``package_id`` holds it;
    :class:`NotFound` for another citizen's package, a package no longer kept, or a
    record the package does not have."""
    with context.sessions() as session:
        package = session.get(Package, package_id) if is_id(package_id) else None
    if package is None:
        raise NotFound("no such package")
    request = get_request(context, package.request_id, cpr_digits=cpr_digits)
    live_package(request)
    for source_id, dataset_id, type_name in record_datasets(context, record_id):
        record = _record_in(context, package, dataset_id, record_id)
        if record is not None:
            return FoundRecord(request, package, dataset_id, source_id, type_name, record)
    raise NotFound("the package has no such record")


def responsible_unit(record: Mapping[str, Any]) -> str | None:
    """The unit a record names as responsible (a case's ``responsibleUnit``), by the
    source's own id for it (the end of the unit's ``@id``); None when it names none."""
    unit = record.get("responsibleUnit")
    if not isinstance(unit, str) or not unit:
        return None
    return unquote(unit.rsplit(":", 1)[-1])[:100] or None


def for_staff(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as a caseworker sees it: a CPR number in it masked (``DDMMYY-xxxx``);
    only opening the citizen's request shows it in full."""
    shown = dict(record)
    value = shown.get("cprNumber")
    if isinstance(value, str):
        shown["cprNumber"] = f"{value[:6]}-xxxx"
    return shown
