"""Package verification: every kind of tampering is reported."""

from __future__ import annotations

import zipfile
from pathlib import Path

from formats import minisign
from formats.verify import verify_package
from tests.conftest import Builder


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change.get(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info, data)
        for name, data in change.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)
    return target


def test_good_package_verifies(build: Builder, keys_dir: Path) -> None:
    built = build()
    report = verify_package(built.zip_path)
    assert report.ok and report.key_source == "shipped" and not report.proves_provenance
    published = minisign.PublicKey.load(keys_dir / "signing.pub")
    report = verify_package(built.zip_path, published)
    assert report.ok and report.proves_provenance
    assert report.trusted_comment.startswith("package:")


def test_tampering_is_reported(build: Builder, tmp_path: Path, keys_dir: Path) -> None:
    built = build()
    published = minisign.PublicKey.load(keys_dir / "signing.pub")
    cases = {
        "changed file": {"data/sager.csv": b"changed"},
        "missing file": {"data/sager.csv": None},
        "unlisted file": {"extra.html": b"<p>hi</p>"},
        "changed manifest": {"SHA256SUMS": built.read("SHA256SUMS") + b"\n"},
        "bad signature": {"SHA256SUMS.minisig": b"untrusted comment: x\nAAAA\n"},
    }
    for name, change in cases.items():
        tampered = _rewrite(built.zip_path, tmp_path / f"{name}.zip", change)
        report = verify_package(tampered, published)
        assert not report.ok, name
        assert report.problems, name


def test_other_key_is_refused(build: Builder) -> None:
    other = minisign.SigningKey.generate().public_key
    report = verify_package(build().zip_path, other)
    assert not report.ok and "signed by key" in report.problems[0]


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip")
    assert not verify_package(path).ok
