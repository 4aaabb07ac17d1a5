"""Connectors: how the exporter reads a source system.

A connector is a class implementing :class:`Connector`: built from the source's
settings, it answers ``fetch(subject, dataset, cursor)`` with one :class:`Page` of raw
records and the cursor of the next page. It keeps no state between calls; the pipeline
owns paging, retries, timeouts, validation and mapping.

Built-in connectors are listed in :data:`BUILTIN_CONNECTORS` and loaded exactly like
third-party ones, which register under the ``egnedata.connectors`` entry-point group::

    [project.entry-points."egnedata.connectors"]
    myindex = "mypackage.connector:MyIndexConnector"
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from exporter.connectors.base import Connector, Page, Subject

__all__ = [
    "BUILTIN_CONNECTORS",
    "ENTRY_POINT_GROUP",
    "Connector",
    "Page",
    "Subject",
    "available_connectors",
    "connector_class",
]

ENTRY_POINT_GROUP = "egnedata.connectors"

BUILTIN_CONNECTORS: Mapping[str, str] = {
    "demo": "exporter.connectors.demo:DemoConnector",
    "file": "exporter.connectors.file:FileConnector",
    "http": "exporter.connectors.http:HttpConnector",
    "own": "exporter.connectors.own:OwnDataConnector",
    "sql": "exporter.connectors.sql:SqlConnector",
}


def _load(target: str) -> type[Connector]:
    module_name, _, attr = target.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), attr)
    # Protocols with data members cannot be checked with issubclass(); check the methods.
    if not isinstance(cls, type) or not all(
        callable(getattr(cls, method, None)) for method in ("from_settings", "fetch")
    ):
        raise TypeError(f"{target} does not implement the Connector protocol")
    connector: type[Connector] = cls
    return connector


@functools.cache
def available_connectors() -> Mapping[str, str]:
    """Connector name to ``module:Class``; built-ins win over plug-ins of the same name."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(BUILTIN_CONNECTORS)
    return dict(sorted(found.items()))


def connector_class(name: str) -> type[Connector]:
    if name in BUILTIN_CONNECTORS:  # they win anyway; skip scanning installed packages
        return _load(BUILTIN_CONNECTORS[name])
    targets = available_connectors()
    if name not in targets:
        raise KeyError(
            f"unknown connector {name!r}; available: {', '.join(targets) or 'none'}"
        )
    return _load(targets[name])
