"""A third-party connector, installed as a real distribution, is found by entry point."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.connectors import available_connectors, connector_class
from exporter.pipeline.collect import collect_source
from exporter.pipeline.stage import EphemeralStage
from tests.exporter.connectors.support import case_dataset, source, subject

PLUGIN = '''
from dataclasses import dataclass
from typing import ClassVar

from exporter.connectors import Page


@dataclass(frozen=True)
class TinyConnector:
    name: ClassVar[str] = "tiny"
    title: str = "Fra et tilføjet system"

    @classmethod
    def from_settings(cls, settings):
        return cls(**settings)

    def fetch(self, subject, dataset, cursor):
        return Page([{"nr": "T1", "overskrift": self.title}], None)
'''


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A package and its .dist-info (as pip installs them) on sys.path."""
    import exporter.connectors as connectors

    # The suite's own test connector replaces the registry; use the real one here.
    monkeypatch.setattr(connectors, "available_connectors", available_connectors)
    site = tmp_path / "site"
    (site / "tinyplugin").mkdir(parents=True)
    (site / "tinyplugin" / "__init__.py").write_text(PLUGIN)
    info = site / "tinyplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[egnedata.connectors]\ntiny = tinyplugin:TinyConnector\n")
    sys.path.insert(0, str(site))
    available_connectors.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("tinyplugin", None)
        available_connectors.cache_clear()


@pytest.mark.usefixtures("plugin_on_path")
def test_an_installed_plugin_is_used_with_a_mapping(tmp_path: Path) -> None:
    assert available_connectors()["tiny"] == "tinyplugin:TinyConnector"
    assert connector_class("tiny").name == "tiny"
    mapping = {"id": "nr", "caseNumber": "nr", "title": "overskrift",
               "kleCode": {"value": "32.06.08"}, "kleTitle": {"value": "Boligsikring"},
               "progressState": {"value": "Oplyst"}, "openedDate": {"value": "2024-01-02"},
               "responsibleUnit": {"value": "U01"}, "role": {"value": "Primær part"}}
    src = source("tiny", {}, case_dataset(mapping=mapping))
    with EphemeralStage(tmp_path) as stage:
        [result] = collect_source(src, subject("0101901234"), "0751", stage)
    assert (result.fetched, result.accepted) == (1, 1), (result.gap, result.reasons)
