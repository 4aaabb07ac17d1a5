"""A subject with a million records: the summary stays small and readable."""

from __future__ import annotations

import pytest

from tests.conftest import Builder, demo_profile_with


@pytest.mark.slow
def test_million_records_keep_the_pages_bounded(build: Builder) -> None:
    # 138,000 cases per source give 1,000,500 records with the demo's defaults.
    built = build(demo_profile_with(cases=138_000))
    total = sum(r.accepted for r in built.result.datasets)
    assert total >= 1_000_000
    for page in ("index.html", "index.en.html", "about.html"):
        assert len(built.read(page)) < 300_000, page
    index = built.text("index.html")
    assert "De seneste 25 af 414000" in index  # documents: the latest 25, and the count
    rows = built.csv_rows("data/dokumenter.csv")
    assert len(rows) == 414_001
