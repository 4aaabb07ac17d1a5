"""The demo package end to end: files, determinism, catalogue, gaps, rejects."""

from __future__ import annotations

import hashlib
import json

import orjson
import pytest

from formats.manifest import parse_manifest
from tests.conftest import FIXED_ID, Builder, case_record, demo_profile_with, static_profile

EXPECTED_TOP = {
    "SHA256SUMS",
    "SHA256SUMS.minisig",
    "SHA256SUMS.sig",
    "about.html",
    "about.en.html",
    "context.jsonld",
    "index.html",
    "index.en.html",
    "package.jsonld",
    "signing-key.pub",
}


def test_demo_package_has_every_file(build: Builder) -> None:
    built = build()
    names = set(built.zip.namelist())
    assert names >= EXPECTED_TOP
    for ds in ("person", "sager", "dokumenter", "kontaktenheder", "bevillinger", "udbetalinger"):
        assert f"data/{ds}.jsonld" in names and f"data/{ds}.csv" in names
    for rt in ("Person", "Case", "Document", "Grant", "Payment", "OrganisationUnit"):
        assert f"schemas/{rt}.schema.json" in names
    # Entries are listed sorted, with fixed timestamps.
    assert built.zip.namelist() == sorted(built.zip.namelist())
    assert {info.date_time for info in built.zip.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_manifest_covers_every_file_and_matches(build: Builder) -> None:
    built = build()
    manifest = parse_manifest(built.read("SHA256SUMS"))
    listed = set(manifest)
    unsigned = {"SHA256SUMS", "SHA256SUMS.minisig", "SHA256SUMS.sig"}
    assert listed == set(built.zip.namelist()) - unsigned
    for name, digest in manifest.items():
        assert hashlib.sha256(built.read(name)).hexdigest() == digest


def test_same_input_same_bytes(build: Builder) -> None:
    first = build().zip_path.read_bytes()
    second = build().zip_path.read_bytes()
    assert first == second


def test_data_dictionary_names_the_allowed_values(build: Builder) -> None:
    # "values" is also a dict method: the page once showed the method's address instead
    # of the label, which made the bytes differ from one process to the next.
    built = build()
    for page, label in (("about.html", "Mulige værdier"), ("about.en.html", "Possible values")):
        text = built.read(page).decode("utf-8")
        assert f"{label}: Opstået, Oplyst" in text
        assert "built-in method" not in text


def test_different_subject_different_package(build: Builder) -> None:
    assert build().zip_path.read_bytes() != build(cpr="720290-1234").zip_path.read_bytes()


def test_records_have_stable_ids_and_valid_refs(build: Builder) -> None:
    built = build()
    cases = orjson.loads(built.read("data/sager.jsonld"))["@graph"]
    units = {u["id"] for u in orjson.loads(built.read("data/kontaktenheder.jsonld"))["@graph"]}
    grants = orjson.loads(built.read("data/bevillinger.jsonld"))["@graph"]
    assert len(cases) == 12
    assert cases[0]["id"] == "urn:egnedata:0751:sagsindeks:case:S000001"
    assert {c["responsibleUnit"] for c in cases} <= units
    case_ids = {c["id"] for c in cases}
    assert {g["case"] for g in grants if "case" in g} <= case_ids
    assert all(c["type"] == "Case" for c in cases)


def test_csv_is_excel_friendly(build: Builder) -> None:
    built = build()
    raw = built.read("data/udbetalinger.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    rows = built.csv_rows("data/udbetalinger.csv")
    assert rows[0][0] == "Id"
    assert "Udbetalt (kr.)" in rows[0]
    amount = rows[1][rows[0].index("Brutto (kr.)")]
    assert "," in amount and "." not in amount


def test_catalogue_carries_article_15_information(build: Builder) -> None:
    catalogue = json.loads(build().text("package.jsonld"))
    assert catalogue["type"] == "Catalog"
    assert catalogue["hasDataController"]["email"]
    assert "eu-gdpr:A77" in catalogue["hasRight"]
    by_id = {d["id"].rsplit(":", 1)[-1]: d for d in catalogue["dataset"]}
    cases = by_id["sager"]
    for key in (
        "hasPurpose",
        "hasLegalBasis",
        "hasPersonalData",
        "hasRecipient",
        "hasStorageCondition",
        "hasDataSource",
        "automatedDecisionMaking",
    ):
        assert key in cases, key
    assert cases["conformsTo"] == "schemas/Case.schema.json"
    assert cases["recordCount"] == 12
    assert cases["completeness"] == "complete"


def test_failed_source_is_a_visible_gap(build: Builder) -> None:
    profile = demo_profile_with()
    sources = tuple(
        s.model_copy(update={"settings": {**s.settings, "fail_with": "unreachable"}, "retries": 1})
        if s.id == "ydelsesindeks"
        else s
        for s in profile.sources
    )
    built = build(profile.model_copy(update={"sources": sources}))
    assert not built.result.complete
    gaps = {r.dataset_id: r.gap for r in built.result.datasets if r.gap}
    assert gaps == {"bevillinger": "unreachable", "udbetalinger": "unreachable"}
    assert "data/bevillinger.jsonld" not in built.zip.namelist()
    catalogue = json.loads(built.text("package.jsonld"))
    grants = next(d for d in catalogue["dataset"] if d["id"].endswith(":bevillinger"))
    assert grants["completeness"] == "gap"
    assert "distribution" not in grants
    index = built.text("index.html")
    assert "kilden kunne ikke nås" in index and "Pakken er derfor ikke komplet" in index


def test_retryable_failure_then_success_is_complete(build: Builder) -> None:
    case = case_record()
    profile = static_profile({"Case": [case]}, retries=2)
    # fail_pages makes the first fetch fail every time: retries run out -> gap.
    failing = profile.model_copy(
        update={
            "sources": tuple(
                s.model_copy(update={"settings": {**s.settings, "fail_pages": 1}})
                for s in profile.sources
            )
        }
    )
    assert build(failing).result.datasets[0].gap == "unreachable"
    assert build(profile).result.datasets[0].complete


def test_rejected_records_are_counted_and_reported(build: Builder) -> None:
    good = case_record(title="Boligstøtte")
    bad_date = {**good, "id": "K2", "openedDate": "2024-02-30"}
    missing = {k: v for k, v in good.items() if k != "title"} | {"id": "K3"}
    wrong_type = {**good, "id": "K4", "caseNumber": 17}
    no_id = {k: v for k, v in good.items() if k != "id"}
    built = build(static_profile({"Case": [good, bad_date, missing, wrong_type, no_id, "x"]}))
    result = built.result.datasets[0]
    assert (result.accepted, result.rejected) == (1, 5)
    assert result.reasons["openedDate: format"] == 1
    assert result.reasons["(record): required"] == 1
    catalogue = json.loads(built.text("package.jsonld"))
    assert catalogue["dataset"][0]["rejectedCount"] == 5
    assert "5 poster kunne ikke vises" in built.text("index.html")
    assert "5 records could not be shown" in built.text("index.en.html")


def test_pages_that_need_the_careful_path_keep_their_order(build: Builder) -> None:
    good = case_record(title="Boligstøtte")
    # Pages of two: both records map but one fails its schema; then an id that
    # needs quoting next to something that is not a record at all.
    records = [good, {**good, "id": "K2", "role": "Chef"}, {**good, "id": "K 3"}, 4]
    built = build(static_profile({"Case": records}))
    result = built.result.datasets[0]
    assert (result.accepted, result.rejected) == (2, 2)
    assert set(result.reasons) == {"role: enum", "(record): not an object"}
    ids = [c["id"] for c in orjson.loads(built.read("data/sager.jsonld"))["@graph"]]
    assert [i.rsplit(":", 1)[1] for i in ids] == ["K1", "K%203"]


def test_package_id_and_time_are_in_the_signature_comment(build: Builder) -> None:
    built = build()
    assert f"package:{FIXED_ID}" in built.text("SHA256SUMS.minisig")


@pytest.mark.parametrize("cpr", ["010190-1234", "1234", "abcdefghij", "310290-1234"])
def test_demo_connector_refuses_real_or_bad_cpr(build: Builder, cpr: str) -> None:
    from exporter.errors import InvalidCprError

    if cpr == "010190-1234":  # a valid but real-looking number: every demo source refuses
        built = build(cpr=cpr)
        assert {r.gap for r in built.result.datasets if r.source_id != "egnedata"} == {
            "refused"}
    else:
        with pytest.raises(InvalidCprError):
            build(cpr=cpr)
