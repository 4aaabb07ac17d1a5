"""The C2SP CCTV age test vectors: the conformance suite for age implementations.

Each vector is a small text header (``expect:``, ``payload:``, ``identity:``,
``passphrase:``, ``armored:``, ``compressed:``, ``comment:``), a blank line, then the
age file. Every vector runs, through both ``decrypt`` and ``decrypt_stream``; only the
post-quantum hybrid ones are skipped, by name.
"""

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

EXPECTED_ERRORS: dict[str, type[FormatError]] = {
    "header failure": AgeHeaderError,
    "HMAC failure": AgeHmacError,
    "no match": AgeNoMatchError,
    "payload failure": AgePayloadError,
    "armor failure": ArmorError,
}


def _parse(data: bytes) -> tuple[dict[str, list[str]], bytes]:
    head, _, body = data.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return fields, body


def _decrypt(body: bytes, identities: list[age.Identity], streaming: bool) -> bytes:
    if streaming:
        return age.decrypt_stream(io.BytesIO(body), identities).read()
    out = io.BytesIO()
    age.decrypt(io.BytesIO(body), out, identities)
    return out.getvalue()


@pytest.mark.parametrize("streaming", [False, True], ids=["decrypt", "decrypt_stream"])
def test_vector(cctv_vectors: dict[str, bytes], cctv_name: str, streaming: bool) -> None:
    if "hybrid" in cctv_name:
        pytest.skip("post-quantum hybrid (mlkem768x25519) recipients are not implemented")
    fields, body = _parse(cctv_vectors[cctv_name])
    identities: list[age.Identity] = [
        age.X25519Identity.parse(i) for i in fields.get("identity", [])
    ]
    identities += [age.ScryptIdentity(p) for p in fields.get("passphrase", [])]
    expect = fields["expect"][0]
    if expect == "success":
        plaintext = _decrypt(body, identities, streaming)
        assert hashlib.sha256(plaintext).hexdigest() == fields["payload"][0]
        return
    # Some payload failures emit plaintext before the failing chunk: the error class
    # is what the vector checks.
    with pytest.raises(FormatError) as info:
        _decrypt(body, identities, streaming)
    assert isinstance(info.value, EXPECTED_ERRORS[expect]), (
        f"{cctv_name}: expected {expect}, got {type(info.value).__name__}: {info.value}"
    )


def test_every_expectation_is_known(cctv_vectors: dict[str, bytes]) -> None:
    kinds = {_parse(data)[0]["expect"][0] for data in cctv_vectors.values()}
    assert kinds <= {"success", *EXPECTED_ERRORS}
