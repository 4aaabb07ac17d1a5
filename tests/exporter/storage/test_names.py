from __future__ import annotations

import pytest

from exporter.storage import InvalidBlobKeyError, check_key, check_prefix


@pytest.mark.parametrize(
    "key",
    [
        "packages/3f2c7d0e-1b4a-4c55-9a51-6a0d2f1e8b77.zip.age",
        "stage/00000000-0000-4000-8000-000000000001/sager.jsonl.age",
        "a",
        "_x/y.z",
        "A/B_c-D.e",
    ],
)
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../x", r"\.\."),
        ("a/../b", r"\.\."),
        ("a/./b", r"\.\."),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        (".hidden", "segment"),
        ("a/.x.tmp", "segment"),
        ("-rf", "segment"),
        ("a b", "segment"),
        ("a\nb", "segment"),
        ("æble", "segment"),
        ("x" * 201, "segment"),
        ("a/" * 600 + "a", "longer than 1024"),
    ],
)
def test_bad_keys(key: str, reason: str) -> None:
    with pytest.raises(InvalidBlobKeyError, match=reason):
        check_key(key)
    assert isinstance(InvalidBlobKeyError(), ValueError)


def test_not_a_string() -> None:
    with pytest.raises(InvalidBlobKeyError):
        check_key(b"packages/a")  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["", "stage/", "stage/r1/", "stage/r1", "packages/ab"])
def test_good_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "stage//", "/stage/", "stage/../"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidBlobKeyError, match="prefix"):
        check_prefix(prefix)
