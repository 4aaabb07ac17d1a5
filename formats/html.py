"""The package's readable pages: ``index.html`` (summary) and ``about.html`` (data
dictionary), each in Danish and in English (``index.en.html``, ``about.en.html``).

Pages are rendered from the Jinja2 templates in the ``templates`` package with
autoescaping on. They are self-contained: styles inline, no scripts, no fonts or images
from the network, so they open offline, print, and meet WCAG 2.1 AA. Every value from a
source passes :func:`formats.text.clean_text` and is cut short for display.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlencode

import jinja2
from jinja2.bccache import Bucket

from formats.records import Field, RecordType, record_types
from formats.summary import DatasetSummary
from formats.text import clean_text, shorten

__all__ = ["LANGUAGES", "DatasetView", "PackageView", "page_name", "render_pages"]

LANGUAGES = ("da", "en")
_DISPLAY_LIMIT = 200
_MONTHS = {
    "da": ["jan.", "feb.", "mar.", "apr.", "maj", "jun.",
           "jul.", "aug.", "sep.", "okt.", "nov.", "dec."],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def page_name(page: str, language: str) -> str:
    """``index`` + ``da`` -> ``index.html``; other languages get a suffix."""
    return f"{page}.html" if language == "da" else f"{page}.{language}.html"


@dataclass(frozen=True)
class DatasetView:
    """A dataset as the pages describe it; texts are ``{"da": …, "en": …}`` maps."""

    id: str
    record_type: RecordType
    title: Mapping[str, str]
    description: Mapping[str, str]
    purpose: Mapping[str, str]
    legal_basis: Mapping[str, str]
    categories: Sequence[Mapping[str, str]]
    recipients: Mapping[str, str]
    storage_period: Mapping[str, str]
    origin: Mapping[str, str]
    source_name: Mapping[str, str]
    summary: DatasetSummary
    rejected: int = 0
    gap: Mapping[str, str] | None = None
    files: Sequence[str] = ()
    automated_decisions: bool = False


@dataclass(frozen=True)
class PackageView:
    package_id: str
    generated_at: str
    municipality_name: str
    municipality_code: str
    controller: Mapping[str, str]
    dpo: Mapping[str, str]
    datasets: Sequence[DatasetView]
    subject_name: str = ""
    signing_key_id: str = ""
    signing_public_key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    flag_url: str = ""
    """The portal's address: each record then links to its flag form there (the link
    holds the record's and the package's ids, nothing personal). Empty: no links."""


@functools.cache
def _texts() -> Mapping[str, Mapping[str, str]]:
    data = resources.files("templates").joinpath("texts.json").read_text("utf-8")
    texts: Mapping[str, Mapping[str, str]] = json.loads(data)
    return texts


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's per-user cache of compiled templates (its ``__pycache__``).

    Compiling the templates costs more than rendering them, and each command-line run
    or worker job is a fresh process. Entries are checked against the template source
    and the Python version. The cache is an optimisation only: if it cannot be read or
    written, templates are compiled as if it were not there.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()  # a private folder in the temp dir, mode 0700
    except (OSError, RuntimeError):  # no safe folder for it
        return None


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("templates"))),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = _show
    return env


def _show(value: Any, limit: int = _DISPLAY_LIMIT) -> str:
    if value is None:
        return ""
    return shorten(clean_text(str(value)), limit)


def _format_date(value: str, language: str) -> str:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return _show(value)
    month = _MONTHS[language][d.month - 1]
    return f"{d.day}. {month} {d.year}" if language == "da" else f"{d.day} {month} {d.year}"


def format_amount(value: Decimal | float, language: str) -> str:
    text = f"{Decimal(str(value)):,.2f}"
    if language == "da":
        return text.replace(",", "X").replace(".", ",").replace("X", ".") + " kr."
    return "DKK " + text


def _native_id(record_id: str) -> str:
    return unquote(record_id.rsplit(":", 1)[-1])


class _Cells:
    """Turns record values into display text for one language."""

    def __init__(self, language: str, units: Mapping[str, Mapping[str, Any]]) -> None:
        self.language = language
        self.units = units

    def cell(self, spec: Field, value: Any) -> str:
        if value is None or value == "":
            return ""
        if spec.kind == "date" and isinstance(value, str):
            return _format_date(value, self.language)
        if spec.kind == "number" and isinstance(value, int | float):
            return format_amount(value, self.language)
        if spec.kind == "ref" and isinstance(value, str):
            unit = self.units.get(value)
            return _show(unit.get("name")) if unit else _show(_native_id(value))
        if spec.kind == "object" and isinstance(value, Mapping):
            return ", ".join(_show(v) for v in value.values() if v)
        return _show(value)


def _field_label(spec: Field, language: str) -> str:
    return spec.title_da if language == "da" else spec.title_en


_OWN_TYPES = ("Flag", "Contribution")
"""The citizen's own records: nothing to object to."""
_DISPUTED = ("Modtaget", "Under behandling")
_FLAG_STATES_EN = {"Modtaget": "Received", "Under behandling": "In review",
                   "Rettet": "Corrected", "Påtegnet": "Annotated", "Afvist": "Rejected",
                   "Trukket tilbage": "Withdrawn"}
"""The English page's words for the flag states the records carry (in Danish)."""


@dataclass(frozen=True)
class _Row:
    cells: list[str]
    flag: str
    """The record's flag state, or ""."""
    disputed: bool
    flag_link: str


def _flag_link(package: PackageView, record_id: str) -> str:
    if not package.flag_url:
        return ""
    query = urlencode({"post": record_id, "pakke": package.package_id})
    return f"{package.flag_url}/indsigelser/ny?{query}"


def _rows(view: DatasetView, cells: _Cells, package: PackageView) -> list[_Row]:
    rt = view.record_type
    specs = [rt.fields_by_name[c] for c in rt.summary.columns]
    own = rt.name in _OWN_TYPES
    rows = []
    for rec in view.summary.latest:
        flag = rec.get("flagState")
        flag = flag if isinstance(flag, str) else ""
        shown = _FLAG_STATES_EN.get(flag, flag) if cells.language == "en" else flag
        rows.append(_Row([cells.cell(s, rec.get(s.name)) for s in specs], _show(shown),
                         flag in _DISPUTED,
                         "" if own else _flag_link(package, str(rec.get("id", "")))))
    return rows


def _units(datasets: Sequence[DatasetView]) -> dict[str, Mapping[str, Any]]:
    units: dict[str, Mapping[str, Any]] = {}
    for view in datasets:
        if view.record_type.name == "OrganisationUnit":
            for rec in view.summary.kept:
                units[str(rec["id"])] = rec
    return units


def _context(package: PackageView, language: str) -> dict[str, Any]:
    """What both pages in ``language`` are rendered from (but ``other_href``)."""
    units = _units(package.datasets)
    cells = _Cells(language, units)
    other = "en" if language == "da" else "da"
    datasets = []
    for view in package.datasets:
        rt = view.record_type
        columns = [_field_label(rt.fields_by_name[c], language) for c in rt.summary.columns]
        datasets.append(
            {
                "view": view,
                "anchor": "ds-" + view.id,
                "columns": columns,
                "rows": _rows(view, cells, package),
                "flags": rt.name not in _OWN_TYPES and bool(
                    package.flag_url or any(r.get("flagState") for r in view.summary.latest)),
                "sums": {
                    _field_label(rt.fields_by_name[k], language): format_amount(v, language)
                    for k, v in view.summary.totals.items()
                },
                "first": _format_date(view.summary.first, language)
                if view.summary.first
                else "",
                "last": _format_date(view.summary.last, language) if view.summary.last else "",
            }
        )
    contacts = []
    for view in package.datasets:
        if view.record_type.name != "Case":
            continue
        for rec in view.summary.latest:
            unit = units.get(str(rec.get("responsibleUnit")))
            contacts.append({"case": rec, "unit": unit})
    return {
        "lang": language,
        "t": _texts()[language],
        "other_lang": other,
        "index_href": page_name("index", language),
        "about_href": page_name("about", language),
        "p": package,
        "datasets": datasets,
        "contacts": contacts,
        "units": list(units.values()),
        "record_types": [record_types()[n] for n in sorted(record_types())],
        "label": lambda spec: _field_label(spec, language),
        "tx": lambda m: (m or {}).get(language) or (m or {}).get("da", ""),
        "date": lambda v: _format_date(v, language) if v else "",
        "native_id": _native_id,
    }


def render_pages(package: PackageView) -> dict[str, bytes]:
    """Every page, by file name in the package."""
    env = _environment()
    pages: dict[str, bytes] = {}
    contexts = {language: _context(package, language) for language in LANGUAGES}
    for page in ("index", "about"):
        template = env.get_template(f"{page}.html.j2")
        for language, context in contexts.items():
            other_href = page_name(page, context["other_lang"])
            html = template.render(context, other_href=other_href)
            pages[page_name(page, language)] = html.encode("utf-8")
    return pages
