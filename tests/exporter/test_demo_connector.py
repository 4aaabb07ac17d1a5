"""The demo source: real reference codes, deterministic, stateless paging, safe CPRs."""

from __future__ import annotations

import pytest

from exporter import reference
from exporter.connectors import Subject, connector_class
from exporter.connectors.demo import _STATES, _SUBJECTS, DemoConnector
from exporter.cpr import Cpr
from exporter.errors import PermanentSourceError
from exporter.profile import demo_profile_path, load_profile

SUBJECT = Subject(Cpr.parse("710190-1234"))
DATASETS = {d.record_type: d for s in load_profile(demo_profile_path()).sources
            if s.connector == "demo" for d in s.datasets}


def test_every_kle_code_and_facet_is_real() -> None:
    kle = reference.kle()
    for code, facet, *_ in _SUBJECTS:
        assert code in kle["emner"], code
        assert facet in kle["handlingsfacetter"], facet


def test_only_current_progress_states() -> None:
    assert _STATES == ("Opstået", "Oplyst", "Afgjort", "Afsluttet")


def _all(connector: DemoConnector, record_type: str) -> list[dict[str, object]]:
    records, cursor = [], None
    while True:
        page = connector.fetch(SUBJECT, DATASETS[record_type], cursor)
        records.extend(page.records)
        if not page.next_cursor:
            return records
        cursor = page.next_cursor


def test_paging_is_stateless_and_deterministic() -> None:
    small_pages = DemoConnector(cases=40, page_size=7)
    one_page = DemoConnector(cases=40, page_size=10_000)
    for record_type in DATASETS:
        assert _all(small_pages, record_type) == _all(one_page, record_type)
    assert len(_all(one_page, "Payment")) == one_page.total("Payment")


def test_registered_as_builtin() -> None:
    assert connector_class("demo") is DemoConnector


def test_refuses_real_cpr_numbers() -> None:
    with pytest.raises(PermanentSourceError, match="synthetic"):
        DemoConnector().fetch(Subject(Cpr.parse("010190-1234")), DATASETS["Case"], None)


@pytest.mark.parametrize(
    "settings",
    [
        {"cases": -1},
        {"cases": "many"},
        {"page_size": 0},
        {"fail_with": "boom"},
        {"typo": 1},
        {"as_of": "yesterday"},
    ],
)
def test_bad_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DemoConnector.from_settings(settings)
