"""The C2SP CCTV age test vectors: the conformance suite for age implementations."""

from __future__ import annotations

import hashlib
import io
import zlib

import pytest

from formats import age
from formats.errors import (
    AgeHeaderError,
    AgeHmacError,
    AgeNoMatchError,
    AgePayloadError,
    ArmorError,
    FormatError,
)
from tests.formats.cctv import load_vectors, vectors

EXPECTED_ERRORS: dict[str, type[Exception]] = {
    "header failure": AgeHeaderError,
    "HMAC failure": AgeHmacError,
    "no match": AgeNoMatchError,
    "payload failure": AgePayloadError,
    "armor failure": ArmorError,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vector" in metafunc.fixturenames:
        names = sorted(load_vectors())
        metafunc.parametrize("vector", names)


def _parse(data: bytes) -> tuple[dict[str, list[str]], bytes]:
    head, _, body = data.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return fields, body


def test_vector(vector: str) -> None:
    if "hybrid" in vector:
        pytest.skip("post-quantum hybrid recipients (mlkem768x25519) are not implemented")
    fields, body = _parse(vectors()[vector])
    identities: list[age.Identity] = [
        age.X25519Identity.parse(i) for i in fields.get("identity", [])
    ]
    identities += [age.ScryptIdentity(p) for p in fields.get("passphrase", [])]
    expect = fields["expect"][0]
    out = io.BytesIO()
    if expect == "success":
        age.decrypt(io.BytesIO(body), out, identities)
        assert hashlib.sha256(out.getvalue()).hexdigest() == fields["payload"][0]
    else:
        with pytest.raises(FormatError) as info:
            age.decrypt(io.BytesIO(body), out, identities)
        assert isinstance(info.value, EXPECTED_ERRORS[expect]), (
            f"{vector}: expected {expect}, got {type(info.value).__name__}: {info.value}"
        )
