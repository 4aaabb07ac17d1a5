"""Signatures: our own checks, and the real minisign and signify tools both ways."""

from __future__ import annotations

import base64
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from formats import minisign
from formats.errors import SignatureError
from tests.formats.package_kit import make_package

KEY = minisign.SigningKey.generate()
MESSAGE = b"SHA256 (index.html) = " + b"0" * 64 + b"\n"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/test installs it (Debian package)")
    return path


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_sign_and_verify() -> None:
    signature = minisign.sign(MESSAGE, KEY, trusted_comment="package:x time:y")
    verified = minisign.verify(MESSAGE, signature, KEY.public_key)
    assert verified == minisign.Verified("package:x time:y", KEY.key_id, prehashed=True)
    assert signature.startswith("untrusted comment: ")
    assert base64.b64decode(signature.splitlines()[1])[:2] == b"ED"


def test_key_id_is_minisigns_little_endian_hex() -> None:
    key = minisign.SigningKey(bytes(32), bytes.fromhex("0102030405060708"))
    assert key.key_id == key.public_key.key_id == "0807060504030201"


def test_tampering_is_caught() -> None:
    signature = minisign.sign(MESSAGE, KEY, trusted_comment="package:x")
    with pytest.raises(SignatureError, match="does not match"):
        minisign.verify(MESSAGE + b"x", signature, KEY.public_key)
    with pytest.raises(SignatureError, match="trusted comment"):
        minisign.verify(MESSAGE, signature.replace("package:x", "package:y"), KEY.public_key)
    with pytest.raises(SignatureError, match="signed by key"):
        minisign.verify(MESSAGE, signature, minisign.SigningKey.generate().public_key)
    lines = signature.splitlines()
    blob = bytearray(base64.b64decode(lines[1]))
    blob[20] ^= 1
    lines[1] = base64.b64encode(bytes(blob)).decode()
    with pytest.raises(SignatureError, match="does not match"):
        minisign.verify(MESSAGE, "\n".join(lines), KEY.public_key)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "x\ny\n",
        "untrusted comment: a\n!!!!\ntrusted comment: b\nAAAA\n",
        "untrusted comment: a\nAAAA\ntrusted comment: b\nAAAA\n",
        "untrusted comment: a\nRUQ=\ntrusted comment: b\n" + "A" * 88 + "\n",
        "untrusted comment: a\n" * 4,
        "\x00" * 100,
        "untrusted comment: a\n" + "A" * 100_000,
    ],
)
def test_malformed_signatures_are_signature_errors(garbage: str) -> None:
    with pytest.raises(SignatureError):
        minisign.verify(MESSAGE, garbage, KEY.public_key)


def test_legacy_ed_signatures_verify() -> None:
    signature = KEY.raw_sign(MESSAGE)
    global_signature = KEY.raw_sign(signature + b"legacy")
    text = (
        "untrusted comment: old\n"
        f"{base64.b64encode(b'Ed' + KEY.keynum + signature).decode()}\n"
        "trusted comment: legacy\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )
    verified = minisign.verify(MESSAGE, text, KEY.public_key)
    assert verified.trusted_comment == "legacy" and not verified.prehashed


def test_key_files_round_trip() -> None:
    again = minisign.SigningKey.parse(KEY.dumps())
    assert again.public_key == KEY.public_key
    assert minisign.PublicKey.parse(KEY.public_key.dumps()) == KEY.public_key
    bare = KEY.public_key.dumps().splitlines()[1]
    assert minisign.PublicKey.parse(bare) == KEY.public_key
    blob = bytearray(base64.b64decode(KEY.dumps().splitlines()[1]))
    blob[70] ^= 1  # inside the secret key: the checksum no longer matches
    damaged = f"untrusted comment: x\n{base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(SignatureError, match="checksum"):
        minisign.SigningKey.parse(damaged)
    for bad in ["", "untrusted comment: x\n", "untrusted comment: x\nAAAA\n", "\xff"]:
        with pytest.raises(SignatureError):
            minisign.SigningKey.parse(bad)
        with pytest.raises(SignatureError):
            minisign.PublicKey.parse(bad)


def test_comments_cannot_inject_lines() -> None:
    for comment in ["a\ntrusted comment: b", "a\rb", "a\u2028b", "x" * 2000]:
        with pytest.raises(ValueError):
            minisign.sign(MESSAGE, KEY, trusted_comment=comment)


def test_signify_embedded_round_trip() -> None:
    signed = minisign.sign_signify_embedded(MESSAGE, KEY)
    assert signed.startswith(b"untrusted comment: verify with signing-key.pub\n")
    assert signed.endswith(MESSAGE)
    assert minisign.verify_signify_embedded(signed, KEY.public_key) == MESSAGE
    with pytest.raises(SignatureError):
        minisign.verify_signify_embedded(signed + b"x", KEY.public_key)
    with pytest.raises(SignatureError, match="signed by key"):
        minisign.verify_signify_embedded(signed, minisign.SigningKey.generate().public_key)


def test_minisign_and_signify_verify_our_package(tmp_path: Path) -> None:
    with zipfile.ZipFile(make_package(tmp_path / "p.zip", KEY)) as archive:
        archive.extractall(tmp_path / "pkg")
    root = tmp_path / "pkg"
    minisign_tool, signify_tool = _tool("minisign"), _tool("signify-openbsd")
    result = _run(minisign_tool, "-Vm", "SHA256SUMS", "-p", "signing-key.pub", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "package:0001" in result.stdout  # minisign prints the trusted comment
    result = _run(signify_tool, "-C", "-p", "signing-key.pub", "-x", "SHA256SUMS.sig", cwd=root)
    assert result.returncode == 0, result.stderr + result.stdout
    assert _run("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=root).returncode == 0
    (root / "index.html").write_text("changed")
    result = _run(signify_tool, "-C", "-p", "signing-key.pub", "-x", "SHA256SUMS.sig", cwd=root)
    assert result.returncode != 0
    (root / "SHA256SUMS").write_bytes((root / "SHA256SUMS").read_bytes() + b"\n")
    result = _run(minisign_tool, "-Vm", "SHA256SUMS", "-p", "signing-key.pub", cwd=root)
    assert result.returncode != 0


def test_we_verify_real_minisign_signatures(tmp_path: Path) -> None:
    tool = _tool("minisign")
    pub, sec, msg = tmp_path / "k.pub", tmp_path / "k.key", tmp_path / "msg"
    assert _run(tool, "-G", "-W", "-p", pub, "-s", sec).returncode == 0
    msg.write_bytes(MESSAGE)
    public = minisign.PublicKey.load(pub)
    for legacy in ([], ["-l"]):
        result = _run(tool, "-S", *legacy, "-s", sec, "-m", msg, "-t", "hej fra minisign")
        assert result.returncode == 0, result.stderr
        verified = minisign.verify(MESSAGE, (tmp_path / "msg.minisig").read_text(), public)
        assert verified.trusted_comment == "hej fra minisign"
        assert verified.prehashed is not bool(legacy)
    # Their unencrypted (-W) secret key files load, and sign what minisign verifies.
    theirs = minisign.SigningKey.load(sec)
    assert theirs.public_key == public
    (tmp_path / "ours.minisig").write_text(minisign.sign(MESSAGE, theirs, trusted_comment="t"))
    result = _run(tool, "-V", "-p", pub, "-m", msg, "-x", tmp_path / "ours.minisig")
    assert result.returncode == 0, result.stderr


def test_minisign_signs_with_our_secret_key_files(tmp_path: Path) -> None:
    tool = _tool("minisign")
    (tmp_path / "ours.key").write_text(KEY.dumps())
    (tmp_path / "ours.key").chmod(0o600)
    (tmp_path / "msg").write_bytes(MESSAGE)
    result = _run(
        tool, "-S", "-s", tmp_path / "ours.key", "-m", tmp_path / "msg", "-t", "fra minisign"
    )
    assert result.returncode == 0, result.stderr
    verified = minisign.verify(MESSAGE, (tmp_path / "msg.minisig").read_text(), KEY.public_key)
    assert verified.trusted_comment == "fra minisign"
