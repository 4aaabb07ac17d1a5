"""SHA256SUMS: sorted BSD-tag lines that sha256sum reads, and strict parsing."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from formats.errors import ManifestError
from formats.manifest import format_manifest, parse_manifest

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()


def test_sorted_bsd_tag_lines() -> None:
    data = format_manifest([("zeta.txt", A), ("data/æøå.csv", B), ("alpha.txt", B)])
    assert (
        data
        == (
            f"SHA256 (alpha.txt) = {B}\nSHA256 (data/æøå.csv) = {B}\nSHA256 (zeta.txt) = {A}\n"
        ).encode()
    )
    assert parse_manifest(data) == {"alpha.txt": B, "data/æøå.csv": B, "zeta.txt": A}


def test_empty_manifest() -> None:
    assert format_manifest([]) == b""
    assert parse_manifest(b"") == {}


def test_sha256sum_checks_it(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a b.txt").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    (tmp_path / "SHA256SUMS").write_bytes(format_manifest([("data/a b.txt", A), ("b", B)]))
    subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=tmp_path, check=True)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../outside",
        "data/../../x",
        "a//b",
        "./a",
        "a/",
        "a\\b",
        "line\nbreak",
        "carriage\rreturn",
        "tab\there",
        "sep\u2028arator",
        "nul\x00",
        "x) = 0000",
    ],
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        format_manifest([(path, A)])
    line = f"SHA256 ({path}) = {A}\n".encode()
    with pytest.raises(ManifestError):
        parse_manifest(line)


@pytest.mark.parametrize("digest", ["", "0" * 63, "0" * 65, A.upper(), "g" * 64])
def test_bad_digests_are_refused(digest: str) -> None:
    with pytest.raises(ValueError):
        format_manifest([("a", digest)])


def test_repeated_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        format_manifest([("a", A), ("a", B)])
    with pytest.raises(ManifestError, match="twice"):
        parse_manifest(f"SHA256 (a) = {A}\nSHA256 (a) = {A}\n".encode())


@pytest.mark.parametrize(
    "data",
    [
        f"SHA256 (a) = {A}".encode(),  # no final newline
        f"SHA256 (a) = {A}\r\n".encode(),
        f"SHA1 (a) = {A}\n".encode(),
        f"{A}  a\n".encode(),  # GNU format, not BSD tags
        f"SHA256 (a) = {A}\n\n".encode(),
        f"SHA256 (a) =  {A}\n".encode(),
        f"SHA256 (a) = {A.upper()}\n".encode(),
        b"\xff\xfe\n",
        b"garbage\n",
    ],
)
def test_malformed_manifests_are_refused(data: bytes) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(data)
