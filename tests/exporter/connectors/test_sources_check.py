"""``egnedata sources check`` against a real HTTP source and files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exporter.cli import _register, app
from exporter.cpr import Cpr
from exporter.pipeline.check import SourceCheck, check_profile
from exporter.profile import load_profile
from tests.exporter.connectors.case_index import CPR_MANY, CaseIndex, case_index


@pytest.fixture(scope="module")
def index() -> Iterator[CaseIndex]:
    with case_index() as served:
        yield served


_DATASET = '''
[[sources.datasets]]
id = "{id}"
record_type = "Case"
title = {{ da = "x", en = "x" }}
description = {{ da = "x", en = "x" }}
purpose = {{ da = "x", en = "x" }}
legal_basis = {{ da = "x", en = "x" }}
legal_basis_gdpr = ["A6-1-e"]
categories = ["Name"]
recipients = {{ da = "x", en = "x" }}
storage_period = {{ da = "x", en = "x" }}
origin = {{ da = "x", en = "x" }}

[sources.datasets.mapping]
id = "sagsid"
caseNumber = "sagsnr"
title = "titel"
kleCode = "kle"
kleTitle = {{ from = "kle", lookup = "kle" }}
progressState = {{ from = "status", codes = {{ "1" = "Opstået", "2" = "Oplyst" }} }}
openedDate = {{ from = "oprettet", date = "{date}" }}
responsibleUnit = "enhed"
role = {{ value = "Primær part" }}
'''


def _profile(tmp_path: Path, index: CaseIndex, date: str = "dd-mm-yyyy") -> Path:
    text = '''
[municipality]
code = "0751"
[controller]
name = "K"
email = "k@kommune.example"
[dpo]
name = "D"
email = "d@kommune.example"

[[sources]]
id = "sagsindeks"
connector = "http"
name = { da = "Sagsindeks", en = "Case index" }
[sources.settings]
base_url = "BASE_URL"
path = "/cursor/sager"
query = { cpr = "{cpr}" }
paging = "cursor"
next_cursor = "meta.next"
records = "data"
check_path = "/health"
''' + _DATASET.format(id="sager", date=date) + '''
[[sources]]
id = "nede"
connector = "http"
name = { da = "Nede", en = "Down" }
[sources.settings]
base_url = "BASE_URL"
path = "/down/{cpr}"
check_path = "/down"
''' + _DATASET.format(id="nede-sager", date=date)
    path = tmp_path / "kommune.toml"
    path.write_text(text.replace("BASE_URL", index.url), encoding="utf-8")
    return path


def _checks(tmp_path: Path, index: CaseIndex, cpr: str | None,
            date: str = "dd-mm-yyyy") -> list[SourceCheck]:
    profile = load_profile(_profile(tmp_path, index, date))
    return check_profile(profile, Cpr.parse(cpr) if cpr else None)


def test_check_with_a_person_maps_and_validates(tmp_path: Path, index: CaseIndex) -> None:
    _register()
    result = CliRunner().invoke(app, ["sources", "check", "--profile",
                                      str(_profile(tmp_path, index)), "--cpr", CPR_MANY])
    assert result.exit_code == 1, result.output
    assert "sagsindeks" in result.output and "1 of 2 checks failed" in result.output
    assert CPR_MANY not in result.output
    checks = _checks(tmp_path, index, CPR_MANY)
    assert [(c.source_id, c.ok, c.fetched, c.valid) for c in checks] == [
        ("sagsindeks", True, 20, 20), ("nede", False, 0, 0)]
    assert "answered HTTP 500" in checks[1].detail


def test_check_reports_records_that_do_not_map(tmp_path: Path, index: CaseIndex) -> None:
    _register()
    profile = _profile(tmp_path, index, date="yyyy-mm-dd")
    result = CliRunner().invoke(app, ["sources", "check", "--profile", str(profile),
                                      "--cpr", CPR_MANY])
    assert result.exit_code == 1
    checks = _checks(tmp_path, index, CPR_MANY, date="yyyy-mm-dd")
    assert not checks[0].ok
    assert checks[0].detail == "20 of 20 rejected: openedDate: date yyyy-mm-dd (20)"


def test_check_without_a_person_only_connects(tmp_path: Path, index: CaseIndex) -> None:
    _register()
    result = CliRunner().invoke(app, ["sources", "check", "--profile",
                                      str(_profile(tmp_path, index))])
    assert result.exit_code == 1
    checks = _checks(tmp_path, index, None)
    assert [(c.what, c.ok) for c in checks] == [("connection", True), ("connection", False)]
    assert "reachable" in checks[0].detail


def test_a_wrong_mapping_names_source_dataset_and_field(tmp_path: Path,
                                                        index: CaseIndex) -> None:
    from exporter.errors import ProfileError

    path = _profile(tmp_path, index)
    path.write_text(path.read_text().replace('date = "dd-mm-yyyy"', 'number = "da"', 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert "sources[0] (id 'sagsindeks').datasets[0] (id 'sager')" in message
    assert "openedDate: a number conversion needs a number field" in message
