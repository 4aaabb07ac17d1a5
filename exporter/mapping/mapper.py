"""Compiling a dataset's mapping against its record type, and applying it.

A compiled :class:`Mapper` turns one raw source record into a raw record with the
record type's field names. A record it cannot map (a date that is not a date, a required
source field that is missing, an unknown code) becomes a record the pipeline rejects
with the reason ``field: rule`` (see :data:`formats.records.REJECTION_KEY`): it is
counted and reported like any other invalid record and never stops the others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exporter import reference
from exporter.mapping.convert import (
    Unconvertible,
    date_parser,
    number_parser,
    render_template,
    template_fields,
)
from exporter.mapping.rules import FieldRule
from formats.records import REJECTION_KEY, Field, RejectReason, record_type

__all__ = ["Mapper", "check_mapping", "compile_mapping"]

_MISSING: Any = object()
_TEXT_KINDS = frozenset({"string", "enum", "ref", "date", "const"})
Getter = Callable[[Mapping[str, Any]], Any]


class _Missing(Exception):
    """A required source field is missing or empty."""


def _getter(path: str) -> Getter:
    """Read a source field; dotted paths walk nested objects. Empty strings count as missing."""
    if "." not in path:
        def get(raw: Mapping[str, Any]) -> Any:
            value = raw.get(path, _MISSING)
            if value.__class__ is str:
                value = value.strip()
                return value if value else _MISSING
            return _MISSING if value is None else value
        return get
    parts = path.split(".")

    def get_nested(raw: Mapping[str, Any]) -> Any:
        node: Any = raw
        for part in parts:
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return _MISSING
        if node.__class__ is str:
            node = node.strip()
            return node if node else _MISSING
        return _MISSING if node is None else node
    return get_nested


def _lookup(kind: str) -> Mapping[str, Any]:
    kle = reference.kle()
    if kind == "kle":
        return {code: entry["title"] for code, entry in kle["emner"].items()}
    return dict(kle["handlingsfacetter"])


def _converter(rule: FieldRule, target: Field | None) -> Callable[[Any], Any] | None:
    if rule.date is not None:
        return date_parser(rule.date)
    if rule.number is not None:
        return number_parser(rule.number)
    table: Mapping[str, Any] | None = None
    name = ""
    if rule.lookup is not None:
        table, name = _lookup(rule.lookup), f"lookup {rule.lookup}"
    elif rule.codes is not None:
        table, name = rule.codes, "codes"
    if table is not None:
        codes, reason = table, f"{name} (unknown code)"

        def look_up(value: Any) -> Any:
            found = codes.get(str(value).strip(), _MISSING)
            if found is _MISSING:
                raise Unconvertible(reason)
            return found
        return look_up
    if target is not None and target.kind in _TEXT_KINDS:
        return _as_text
    return None


def _as_text(value: Any) -> Any:
    # Numbers from a database or JSON where the record wants text (case numbers).
    cls = value.__class__
    return str(value) if cls is int or cls is float else value


def _text_getter(path: str) -> Getter:
    """``_getter(path)`` and ``_as_text`` in one call: most fields of most sources are
    a plain column copied as text, and a call per field per record adds up."""
    def get_text(raw: Mapping[str, Any]) -> Any:
        value = raw.get(path, _MISSING)
        cls = value.__class__
        if cls is str:
            value = value.strip()
            return value if value else _MISSING
        if value is None:
            return _MISSING
        return str(value) if cls is int or cls is float else value
    return get_text


def _rule(spec: FieldRule | str) -> FieldRule:
    return FieldRule.model_validate({"from": spec}) if isinstance(spec, str) else spec


def _compile_rule(spec: FieldRule | str, target: Field | None) -> tuple[Getter, str]:
    """A function giving the field's value (or _MISSING), and what to say if missing."""
    rule = _rule(spec)
    if rule.value is not None:
        fixed = rule.value
        return (lambda raw: fixed), "value"
    convert = _converter(rule, target)
    default = _MISSING if rule.default is None else rule.default
    if rule.template is not None:
        template = rule.template
        getters = [(name, _getter(name)) for name in template_fields(template)]

        def from_template(raw: Mapping[str, Any]) -> Any:
            values = {}
            for name, get in getters:
                value = get(raw)
                if value is _MISSING:
                    return _MISSING
                values[name] = str(value)
            return render_template(template, values)
        read: Getter = from_template
        missing = "template (a source field is missing)"
    else:
        assert rule.from_ is not None
        missing = f"required (source field {rule.from_} is missing)"
        if convert is _as_text and default is _MISSING and "." not in rule.from_:
            return _text_getter(rule.from_), missing
        read = _getter(rule.from_)

    if convert is None and default is _MISSING:
        return read, missing

    def value_of(raw: Mapping[str, Any]) -> Any:
        value = read(raw)
        if value is _MISSING:
            return default
        return value if convert is None else convert(value)
    return value_of, missing


@dataclass(frozen=True, slots=True)
class _Rule:
    target: str
    parent: str | None  # for ``address.postalCode``: ``address``
    child: str
    get: Getter
    required: bool
    missing: str


class Mapper:
    """A compiled mapping for one record type."""

    def __init__(self, rules: tuple[_Rule, ...]) -> None:
        self._rules = rules
        # Plain tuples: unpacking them is cheaper than attribute reads, per field per record.
        self._steps = tuple((r.get, r.child, r.parent, r.required, r) for r in rules)

    def map(self, raw: Any) -> Any:
        """The mapped record; a rejection record if it cannot be mapped; non-objects as is."""
        if not isinstance(raw, Mapping):
            return raw  # the pipeline rejects it: "(record): not an object"
        if raw.get(REJECTION_KEY).__class__ is RejectReason:
            return raw  # the connector already rejected it, with its reason
        out: dict[str, Any] = {}
        rule: _Rule | None = None
        try:
            for get, child, parent, required, rule in self._steps:
                value = get(raw)
                if value is _MISSING:
                    if required:
                        return _rejected(out, f"{rule.target}: {rule.missing}")
                    continue
                if parent is None:
                    out[child] = value
                else:
                    out.setdefault(parent, {})[child] = value
        except Unconvertible as exc:
            assert rule is not None
            return _rejected(out, f"{rule.target}: {exc}")
        return out


def _rejected(partial: Mapping[str, Any], reason: str) -> dict[str, Any]:
    # Keep a usable id so that the pipeline reports this reason and not "id: missing".
    native = partial.get("id")
    return {"id": native if native.__class__ is str else "unmapped",
            REJECTION_KEY: RejectReason(reason)}


_ID = Field(name="id", title_da="id", title_en="id", description_da="", description_en="",
            kind="string", required=True)


def _fields(type_name: str) -> dict[str, Field]:
    """Mappable targets: ``id``, top-level fields and ``parent.child`` sub-fields."""
    rt = record_type(type_name)
    targets: dict[str, Field] = {"id": _ID}
    for f in rt.fields:
        if f.name == "type":
            continue
        if f.kind == "object":
            for sub in f.subfields:
                targets[f"{f.name}.{sub.name}"] = sub
        else:
            targets[f.name] = f
    return targets


def check_mapping(type_name: str, mapping: Mapping[str, FieldRule | str]) -> list[str]:
    """What is wrong with ``mapping`` for the record type, one line per problem."""
    targets = _fields(type_name)
    rt = record_type(type_name)
    problems: list[str] = []
    for name, spec in mapping.items():
        target = targets.get(name)
        if target is None:
            problems.append(f"{name}: not a field of {type_name}; fields: "
                            + ", ".join(sorted(targets)))
            continue
        rule = _rule(spec)
        if rule.date is not None and target.kind != "date":
            problems.append(f"{name}: a date conversion needs a date field")
        if rule.number is not None and target.kind != "number":
            problems.append(f"{name}: a number conversion needs a number field")
        if rule.value is not None and target.enum and rule.value not in target.enum:
            problems.append(f"{name}: value must be one of {', '.join(target.enum)}")
        if rule.codes is not None and target.enum:
            wrong = sorted({str(v) for v in rule.codes.values()} - set(target.enum))
            if wrong:
                problems.append(f"{name}: codes give values {type_name} does not allow: "
                                + ", ".join(wrong) + f"; allowed: {', '.join(target.enum)}")
    if "id" not in mapping:
        problems.append("id: not mapped; every record needs the source's own id")
    parents_mapped = {name.split(".", 1)[0] for name in mapping if "." in name}
    for f in rt.fields:
        if f.name in ("id", "type"):
            continue
        if f.kind == "object":
            if f.required or f.name in parents_mapped:
                missing = [s.name for s in f.subfields
                           if s.required and f"{f.name}.{s.name}" not in mapping]
                problems.extend(f"{f.name}.{s}: required by {type_name} but not mapped"
                                for s in missing)
        elif f.required and f.name not in mapping:
            problems.append(f"{f.name}: required by {type_name} but not mapped")
    return problems


@functools.lru_cache(maxsize=256)
def _compile(type_name: str, key: tuple[tuple[str, str], ...]) -> Mapper:
    mapping = {name: FieldRule.model_validate_json(spec) for name, spec in key}
    return _build(type_name, mapping)


def _build(type_name: str, mapping: Mapping[str, FieldRule | str]) -> Mapper:
    targets = _fields(type_name)
    rules = []
    for name, spec in mapping.items():
        target = targets.get(name)
        parent, _, child = name.rpartition(".")
        get, missing = _compile_rule(spec, target)
        required = name == "id" or (target is not None and target.required)
        rules.append(_Rule(name, parent or None, child, get, required, missing))
    # id first, so that a rejection can name the record's own id.
    rules.sort(key=lambda r: r.target != "id")
    return Mapper(tuple(rules))


def compile_mapping(type_name: str, mapping: Mapping[str, FieldRule | str]) -> Mapper:
    """The compiled mapping (cached: datasets are mapped page after page)."""
    key = tuple(
        (name, _rule(spec).model_dump_json(by_alias=True, exclude_none=True))
        for name, spec in mapping.items()
    )
    return _compile(type_name, key)
