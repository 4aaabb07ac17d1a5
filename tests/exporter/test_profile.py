"""Profiles: the demo loads; wrong profiles name the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.errors import ProfileError
from exporter.profile import demo_profile_path, load_profile


def test_demo_profile_loads() -> None:
    profile = load_profile(demo_profile_path())
    assert profile.municipality.code == "0751"
    assert profile.municipality.display_name == "Aarhus Kommune"
    assert {s.id for s in profile.sources} == {"cpr", "sagsindeks", "ydelsesindeks", "egnedata"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kommune.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _demo_text() -> str:
    return demo_profile_path().read_text("utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('code = "0751"', 'code = "0999"'), "municipality.code: Value error"),
        (('code = "0751"', 'code = "0411"'), "not one of the 98 kommunekoder"),
        (('name = "Aarhus Kommune"', 'name = "Odense Kommune"'), "kommunekode 0751 is 'Aarhus'"),
        (('record_type = "Case"', 'record_type = "Sag"'),
         "expected one of Case, Contribution, Document"),
        (
            (
                'categories = ["Name", "NationalIdentificationNumber", "DateOfBirth", '
                '"PhysicalAddress"]',
                'categories = ["Navn"]',
            ),
            "unknown personal-data category 'Navn'",
        ),
        (
            ('legal_basis_gdpr = ["A6-1-e"]', 'legal_basis_gdpr = ["6e"]'),
            "unknown GDPR legal basis",
        ),
        (
            ('id = "sager"', 'id = "Sager!"'),
            "sources[1] (id 'sagsindeks').datasets[0] (id 'Sager!').id",
        ),
        (
            ("[controller]", '[controller]\nfax = "1"'),
            "controller.fax: Extra inputs are not permitted",
        ),
        (
            ('references = { Case = "sagsindeks" }', 'references = { Case = "nowhere" }'),
            "has no Case dataset",
        ),
    ],
)
def test_wrong_profile_names_file_and_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    text = _demo_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    assert expected.replace("municipality.code: Value error", "municipality.code") in message or (
        expected in message
    ), message


def test_missing_required_key(tmp_path: Path) -> None:
    text = _demo_text().replace('purpose = { da = "At vide', 'purposeX = { da = "At vide', 1)
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, text))
    assert "sources[0] (id 'cpr').datasets[0] (id 'person').purpose: Field required" in str(
        info.value
    )


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(_write(tmp_path, "[municipality\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("navn = 'Ærø'".encode("latin-1"))
    with pytest.raises(ProfileError, match="UTF-8"):
        load_profile(path)
