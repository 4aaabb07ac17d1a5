"""Declarative mapping: from a source's own fields to a record type's fields.

A dataset's ``[sources.datasets.mapping]`` table says, per record field, where its value
comes from and how it is converted (Danish dates and numbers, KLE titles, code tables,
fixed values, templates). It is checked against the record type when the profile loads
and applied to every page a connector returns, before the pipeline's id mapping and
validation. See ``docs/mapping.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.connectors.base import Page
from exporter.mapping.convert import NUMBER_STYLES, Unconvertible, date_parser, number_parser
from exporter.mapping.mapper import Mapper, check_mapping, compile_mapping
from exporter.mapping.rules import LOOKUPS, FieldRule, RuleSpec

if TYPE_CHECKING:
    from exporter.profile import DatasetSettings

__all__ = [
    "LOOKUPS",
    "NUMBER_STYLES",
    "FieldRule",
    "Mapper",
    "RuleSpec",
    "Unconvertible",
    "check_mapping",
    "compile_mapping",
    "date_parser",
    "map_page",
    "number_parser",
]


def map_page(page: Page, dataset: DatasetSettings) -> Page:
    """``page`` with the dataset's mapping applied to every record (as is without one)."""
    if not dataset.mapping:
        return page
    mapper = compile_mapping(dataset.record_type, dataset.mapping)
    mapped = mapper.map
    return Page([mapped(raw) for raw in page.records], page.next_cursor)
