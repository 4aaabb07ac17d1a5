"""Package verification: a good package passes, every kind of tampering is reported."""

from __future__ import annotations

import hashlib
import importlib
import zipfile
from pathlib import Path

import pytest

from formats import minisign
from formats.manifest import format_manifest
from formats.verify import PUBLISHED_KEY, SHIPPED_KEY, verify_package
from tests.formats.package_kit import (
    SAMPLE_FILES,
    TRUSTED_COMMENT,
    make_package,
    signed_files,
    write_zip,
)

KEY = minisign.SigningKey.generate()


@pytest.mark.parametrize("module", ["formats.minisign", "formats.manifest", "formats.verify"])
def test_public_surface(module: str) -> None:
    imported = importlib.import_module(module)
    public = {
        name
        for name, value in vars(imported).items()
        if not name.startswith("_")
        and getattr(value, "__module__", module) == module
        and not isinstance(value, type(importlib))
        and name != "annotations"
    }
    assert public <= set(imported.__all__), public - set(imported.__all__)


def test_good_package_against_the_published_key(tmp_path: Path) -> None:
    report = verify_package(make_package(tmp_path / "p.zip", KEY), KEY.public_key)
    assert report.ok, report.problems
    assert report.key_source == PUBLISHED_KEY and report.proves_provenance
    assert report.key_id == KEY.public_key.key_id
    assert report.trusted_comment == TRUSTED_COMMENT
    names = {check.name for check in report.files}
    assert names == {*SAMPLE_FILES, "signing-key.pub"}
    assert all(check.status == "ok" for check in report.files)


def test_shipped_key_proves_integrity_only(tmp_path: Path) -> None:
    report = verify_package(make_package(tmp_path / "p.zip", KEY))
    assert report.ok and report.key_source == SHIPPED_KEY
    assert not report.proves_provenance


def _tampered(tmp_path: Path, change: dict[str, bytes | None]) -> Path:
    contents: dict[str, bytes] = signed_files(SAMPLE_FILES, KEY)
    for name, data in change.items():
        if data is None:
            del contents[name]
        else:
            contents[name] = data
    return write_zip(tmp_path / "tampered.zip", contents)


@pytest.mark.parametrize(
    ("change", "status", "problem"),
    [
        ({"data/sager.csv": b"id;titel\n1;Forfalsket\n"}, "changed", "does not match"),
        ({"data/sager.csv": None}, "missing", "listed in SHA256SUMS but missing"),
        ({"extra.exe": b"MZ"}, "unlisted", "not listed in SHA256SUMS"),
    ],
)
def test_file_tampering(
    tmp_path: Path, change: dict[str, bytes | None], status: str, problem: str
) -> None:
    report = verify_package(_tampered(tmp_path, change), KEY.public_key)
    assert not report.ok and report.signature_ok
    name = next(iter(change))
    assert any(c.name == name and c.status == status for c in report.files)
    assert any(problem in p for p in report.problems)


def test_changed_manifest_breaks_the_signature(tmp_path: Path) -> None:
    contents = signed_files(SAMPLE_FILES, KEY)
    forged = contents["SHA256SUMS"].replace(
        hashlib.sha256(SAMPLE_FILES["index.html"]).hexdigest().encode(),
        hashlib.sha256(b"evil").hexdigest().encode(),
    )
    report = verify_package(_tampered(tmp_path, {"SHA256SUMS": forged}), KEY.public_key)
    assert not report.ok and not report.signature_ok
    assert "does not match" in report.problems[0]


def test_re_signed_package_fails_against_the_published_key(tmp_path: Path) -> None:
    # Someone who changes a file and re-signs with their own key (and ships it) passes
    # the integrity check, but not the check against the municipality's key.
    files = {**SAMPLE_FILES, "index.html": b"<p>forfalsket</p>"}
    forged = make_package(tmp_path / "forged.zip", minisign.SigningKey.generate(), files)
    assert verify_package(forged).ok
    report = verify_package(forged, KEY.public_key)
    assert not report.ok and "signed by key" in report.problems[0]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"SHA256SUMS.minisig": b"untrusted comment: x\nAAAA\n"}, "SHA256SUMS.minisig"),
        ({"SHA256SUMS.minisig": None}, "no SHA256SUMS.minisig"),
        ({"SHA256SUMS": None}, "no SHA256SUMS"),
        ({"SHA256SUMS.sig": None}, "no SHA256SUMS.sig"),
        ({"SHA256SUMS.sig": b"untrusted comment: x\nAAAA\nSHA256 (x) = y\n"}, "malformed"),
        ({"SHA256SUMS.minisig": b"\xff\xfe"}, "not UTF-8"),
    ],
)
def test_signature_tampering(tmp_path: Path, change: dict[str, bytes | None], problem: str) -> None:
    report = verify_package(_tampered(tmp_path, change), KEY.public_key)
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_signify_signature_over_another_manifest(tmp_path: Path) -> None:
    other = format_manifest([("a", "0" * 64)])
    change = {"SHA256SUMS.sig": minisign.sign_signify_embedded(other, KEY)}
    report = verify_package(_tampered(tmp_path, change), KEY.public_key)
    assert not report.ok and "different SHA256SUMS" in report.problems[0]


def test_missing_shipped_key(tmp_path: Path) -> None:
    report = verify_package(_tampered(tmp_path, {"signing-key.pub": None}))
    assert not report.ok and "signing-key.pub" in report.problems[0]


def test_duplicate_entry_is_refused(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.zip", KEY)
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as archive:
        archive.writestr("index.html", b"<p>the other copy</p>")
    report = verify_package(path, KEY.public_key)
    assert not report.ok and "appears twice" in report.problems[0]


def test_zip_bomb_limits(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.zip", KEY)
    report = verify_package(path, KEY.public_key, max_total_size=100)
    assert not report.ok and "unpacks to more than" in report.problems[0]
    report = verify_package(path, KEY.public_key, max_entries=3)
    assert not report.ok and "entries" in report.problems[0]


def test_corrupt_entry_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.zip", KEY)
    data = bytearray(path.read_bytes())
    compressed = zipfile.ZipFile(path).getinfo("data/sager.jsonld")
    start = compressed.header_offset + 30 + len(compressed.filename) + 2
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    report = verify_package(path, KEY.public_key)
    assert not report.ok
    assert any(c.name == "data/sager.jsonld" and not c.ok for c in report.files)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04" + bytes(100)])
def test_not_a_zip(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    report = verify_package(path, KEY.public_key)
    assert not report.ok and "not a readable ZIP" in report.problems[0]
