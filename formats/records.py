"""Record types: the JSON Schemas in ``formats/vocab/schemas`` and what they say.

Each record type is one JSON Schema (draft 2020-12). The schema is the single source of
truth for a type: its fields, which are required, their Danish and English names and
explanations (``title``/``description`` and the ``x-title-en``/``x-description-en``
annotations), which other record type a reference field points at (``x-ref``), and how
the summary page shows the type (``x-summary``), and which dates place a record in
time (``x-period``: its start and end field, for requests limited to a period). The
same files are shipped in every package under ``schemas/`` and named by
``dct:conformsTo`` in ``package.jsonld``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson

__all__ = [
    "RECORD_ID_PREFIX",
    "REJECTION_KEY",
    "Field",
    "RecordType",
    "RejectReason",
    "SummarySpec",
    "context_bytes",
    "record_type",
    "record_types",
    "schema_files",
]

RECORD_ID_PREFIX = "urn:egnedata:"
REJECTION_KEY = "$rejected"
"""A raw record holding a :class:`RejectReason` under this key is rejected with it.

No schema allows the key, so such a record never validates; a mapping uses it to reject
a record it could not map with a reason of its own (``openedDate: date dd-mm-yyyy``).
"""


class RejectReason(str):
    """A reason for rejecting a record, made by the exporter and never by a source.

    Only this type is honoured under :data:`REJECTION_KEY`, so a source that sends the
    key itself (JSON has no way to make this type) cannot put its own text in a report.
    """

    __slots__ = ()
_SCHEMA_BASE = "file:///egnedata/schemas/"
_COMMON = "common.schema.json"


@dataclass(frozen=True)
class Field:
    """One field of a record type, as the schema describes it."""

    name: str
    title_da: str
    title_en: str
    description_da: str
    description_en: str
    kind: str  # string, date, number, enum, ref, object, const
    required: bool
    ref_type: str | None = None
    enum: tuple[str, ...] = ()
    subfields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class SummarySpec:
    """How the readable summary presents a record type (``x-summary``)."""

    columns: tuple[str, ...]
    sort_key: str | None
    count_by: str | None
    sum_of: tuple[str, ...]


@dataclass(frozen=True)
class RecordType:
    name: str
    title_da: str
    title_en: str
    description_da: str
    description_en: str
    fields: tuple[Field, ...]
    summary: SummarySpec
    schema_file: str
    schema: Mapping[str, Any] = field(repr=False)
    period: tuple[str, str] | None = None
    """The fields giving the start and end of the record's time (``x-period``)."""

    def overlaps(self, record: Mapping[str, Any], start: str | None, end: str | None) -> bool:
        """Whether the record's time overlaps ``start``..``end`` (ISO dates, inclusive;
        None is open). A record of a type without ``x-period``, or without dates, is
        always in: leaving it out could hide data the citizen has a right to see."""
        if self.period is None:
            return True
        first, last = record.get(self.period[0]), record.get(self.period[1])
        if end is not None and isinstance(first, str) and first > end:
            return False
        # No end date (an open case, a running grant): it reaches until today.
        return not (start is not None and isinstance(last, str) and last < start)

    @functools.cached_property
    def validator(self) -> jsonschema_rs.Validator:
        return jsonschema_rs.validator_for(
            dict(self.schema),
            registry=_registry(),
            base_uri=_SCHEMA_BASE + self.schema_file,
            validate_formats=True,
        )

    @functools.cached_property
    def _batch_validator(self) -> jsonschema_rs.Validator:
        uri = _SCHEMA_BASE + self.schema_file
        registry = jsonschema_rs.Registry(
            [(_SCHEMA_BASE + _COMMON, dict(_common())), (uri, _without_implied_rules(self.schema))]
        )
        return jsonschema_rs.validator_for(
            {"type": "array", "items": {"$ref": uri}}, registry=registry, validate_formats=True
        )

    def all_valid(self, records: Sequence[Mapping[str, Any]]) -> bool:
        """Whether every record conforms, checked in one call.

        Crossing into the validator once per page rather than once per record, under a
        schema that leaves out only rules other rules already imply, accepts exactly
        the records :attr:`validator` accepts, several times faster. Use
        :meth:`first_error` to find out what is wrong when it says no.
        """
        return bool(self._batch_validator.is_valid(records))

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """Flat column names for tables: nested objects become ``parent.child``."""
        out: list[str] = []
        for f in self.fields:
            if f.kind == "object":
                out.extend(f"{f.name}.{sub.name}" for sub in f.subfields)
            else:
                out.append(f.name)
        return tuple(out)

    @functools.cached_property
    def fields_by_name(self) -> Mapping[str, Field]:
        return {f.name: f for f in self.fields}

    @functools.cached_property
    def refs(self) -> Mapping[str, str]:
        """Reference fields and the record type each points at."""
        return {f.name: f.ref_type for f in self.fields if f.ref_type}

    @functools.cached_property
    def ref_items(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.refs.items())

    def first_error(self, record: Mapping[str, Any]) -> str | None:
        """None if the record conforms, else why not, as ``field: keyword``.

        The reason names the field and the schema rule it broke (``openedDate: format``,
        ``title: maxLength``), never the offending value, so it is safe to report and log.
        """
        if self.validator.is_valid(record):
            return None
        marked = record.get(REJECTION_KEY)
        if marked.__class__ is RejectReason:
            return str(marked)
        for error in self.validator.iter_errors(record):
            where = "/".join(str(p) for p in error.instance_path) or "(record)"
            keyword = str(list(error.schema_path)[-1]) if error.schema_path else "schema"
            return f"{where}: {keyword}"
        return "(record): schema"  # pragma: no cover - is_valid said no


def _package_file(*parts: str) -> bytes:
    path = resources.files("formats") / "vocab"
    for part in parts:
        path = path / part
    return path.read_bytes()


def context_bytes() -> bytes:
    """The JSON-LD ``@context`` shipped as ``context.jsonld`` in every package."""
    return _package_file("context.jsonld")


def schema_files() -> Iterator[tuple[str, bytes]]:
    """Every schema file, as (file name, bytes), sorted by name."""
    folder = resources.files("formats") / "vocab" / "schemas"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".schema.json"))
    for name in names:
        yield name, (folder / name).read_bytes()


@functools.cache
def _common() -> Mapping[str, Any]:
    result: Mapping[str, Any] = orjson.loads(_package_file("schemas", _COMMON))
    return result


@functools.cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(_SCHEMA_BASE + _COMMON, dict(_common()))])


def _without_implied_rules(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema less a ``propertyNames`` rule that cannot fail where the rest holds.

    With ``additionalProperties: false`` (and no pattern or unevaluated properties) a
    valid record only has the listed properties; if each of their names passes
    ``propertyNames``, checking every record's names again is pure cost (about half the
    time of validating a record).
    """
    result = dict(schema)
    names = result.get("propertyNames")
    if (
        names is None
        or result.get("additionalProperties") is not False
        or "patternProperties" in result
        or "unevaluatedProperties" in result
    ):
        return result
    check = jsonschema_rs.validator_for(names, registry=_registry(), validate_formats=True)
    if all(check.is_valid(name) for name in result.get("properties", {})):
        del result["propertyNames"]
    return result


def _resolve(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """Merge a property with the shared definition it references, if any."""
    ref = prop.get("$ref")
    if not ref:
        return prop
    file, _, pointer = ref.partition("#")
    if file != _COMMON or not pointer.startswith("/$defs/"):
        raise ValueError(f"unsupported $ref {ref!r}")
    merged = dict(_common()["$defs"][pointer.removeprefix("/$defs/")])
    merged.update({k: v for k, v in prop.items() if k != "$ref"})
    return merged


def _kind(prop: Mapping[str, Any]) -> str:
    if "x-ref" in prop:
        return "ref"
    if "enum" in prop:
        return "enum"
    if "const" in prop:
        return "const"
    if prop.get("type") == "object":
        return "object"
    if prop.get("format") == "date":
        return "date"
    if prop.get("type") in ("number", "integer"):
        return "number"
    return "string"


def _field(name: str, raw: Mapping[str, Any], required: bool) -> Field:
    prop = _resolve(raw)
    kind = _kind(prop)
    subfields: tuple[Field, ...] = ()
    if kind == "object":
        sub_required = set(prop.get("required", ()))
        subfields = tuple(
            _field(sub, sub_prop, sub in sub_required)
            for sub, sub_prop in prop.get("properties", {}).items()
        )
    return Field(
        name=name,
        title_da=prop.get("title", name),
        title_en=prop.get("x-title-en", prop.get("title", name)),
        description_da=prop.get("description", ""),
        description_en=prop.get("x-description-en", prop.get("description", "")),
        kind=kind,
        required=required,
        ref_type=prop.get("x-ref"),
        enum=tuple(prop.get("enum", ())),
        subfields=subfields,
    )


def _record_type(schema_file: str, schema: Mapping[str, Any]) -> RecordType:
    name = schema_file.removesuffix(".schema.json")
    required = set(schema.get("required", ()))
    summary = schema.get("x-summary", {})
    return RecordType(
        name=name,
        title_da=schema["title"],
        title_en=schema.get("x-title-en", schema["title"]),
        description_da=schema.get("description", ""),
        description_en=schema.get("x-description-en", ""),
        fields=tuple(
            _field(key, prop, key in required)
            for key, prop in schema["properties"].items()
            if key not in ("id", "type")
        ),
        summary=SummarySpec(
            columns=tuple(summary.get("columns", ())),
            sort_key=summary.get("sortKey"),
            count_by=summary.get("countBy"),
            sum_of=tuple(summary.get("sumOf", ())),
        ),
        schema_file=schema_file,
        schema=schema,
        period=tuple(schema["x-period"]) if "x-period" in schema else None,
    )


@functools.cache
def record_types() -> Mapping[str, RecordType]:
    """Every record type by name (``Case``, ``Person`` …), loaded once."""
    types = {}
    for schema_file, data in schema_files():
        if schema_file == _COMMON:
            continue
        rt = _record_type(schema_file, orjson.loads(data))
        types[rt.name] = rt
    return types


def record_type(name: str) -> RecordType:
    try:
        return record_types()[name]
    except KeyError:
        known = ", ".join(sorted(record_types()))
        raise KeyError(f"unknown record type {name!r}; known types: {known}") from None
