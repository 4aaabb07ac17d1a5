"""Signatures: our own checks, and the real minisign and signify tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from formats import minisign
from formats.errors import SignatureError
from tests.conftest import Builder

KEY = minisign.SigningKey.generate()
MESSAGE = b"SHA256 (index.html) = " + b"0" * 64 + b"\n"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/test installs it")
    return path


def test_sign_and_verify() -> None:
    signature = minisign.sign(MESSAGE, KEY, trusted_comment="package:x time:y")
    verified = minisign.verify(MESSAGE, signature, KEY.public_key)
    assert verified.trusted_comment == "package:x time:y"
    assert verified.prehashed and verified.key_id == KEY.public_key.key_id_hex


def test_tampering_is_caught() -> None:
    signature = minisign.sign(MESSAGE, KEY, trusted_comment="package:x")
    with pytest.raises(SignatureError, match="does not match"):
        minisign.verify(MESSAGE + b"x", signature, KEY.public_key)
    forged = signature.replace("package:x", "package:y")
    with pytest.raises(SignatureError, match="trusted comment"):
        minisign.verify(MESSAGE, forged, KEY.public_key)
    with pytest.raises(SignatureError, match="signed by key"):
        minisign.verify(MESSAGE, signature, minisign.SigningKey.generate().public_key)
    for garbage in ["", "x\ny\n", signature.replace("R", "!")]:
        with pytest.raises(SignatureError):
            minisign.verify(MESSAGE, garbage, KEY.public_key)


def test_key_files_round_trip(tmp_path: Path) -> None:
    again = minisign.SigningKey.parse(KEY.dumps())
    assert again.public_key == KEY.public_key
    assert minisign.PublicKey.parse(KEY.public_key.dumps()) == KEY.public_key
    damaged = KEY.dumps().replace("A", "B", 1)
    with pytest.raises(SignatureError):
        minisign.SigningKey.parse(damaged)


def test_comments_cannot_inject_lines() -> None:
    with pytest.raises(ValueError):
        minisign.sign(MESSAGE, KEY, trusted_comment="a\ntrusted comment: b")


def test_minisign_and_signify_verify_our_package(build: Builder, tmp_path: Path) -> None:
    root = build().extract(tmp_path / "pkg")
    subprocess.run(
        [_tool("minisign"), "-Vm", "SHA256SUMS", "-p", "signing-key.pub"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [_tool("signify-openbsd"), "-C", "-p", "signing-key.pub", "-x", "SHA256SUMS.sig"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [_tool("sha256sum"), "-c", "SHA256SUMS"], cwd=root, check=True, capture_output=True
    )
    (root / "index.html").write_text("changed")
    proc = subprocess.run(
        [_tool("signify-openbsd"), "-C", "-p", "signing-key.pub", "-x", "SHA256SUMS.sig"],
        cwd=root,
        capture_output=True,
    )
    assert proc.returncode != 0


def test_we_verify_a_real_minisign_signature(tmp_path: Path) -> None:
    tool = _tool("minisign")
    subprocess.run(
        [tool, "-G", "-W", "-p", str(tmp_path / "k.pub"), "-s", str(tmp_path / "k.key")],
        check=True,
        capture_output=True,
    )
    (tmp_path / "msg").write_bytes(MESSAGE)
    subprocess.run(
        [tool, "-S", "-s", str(tmp_path / "k.key"), "-m", str(tmp_path / "msg"), "-t", "hej"],
        check=True,
        capture_output=True,
    )
    public = minisign.PublicKey.load(tmp_path / "k.pub")
    verified = minisign.verify(MESSAGE, (tmp_path / "msg.minisig").read_text(), public)
    assert verified.trusted_comment == "hej"
    # minisign can also sign with the secret key files we write.
    (tmp_path / "ours.key").write_text(KEY.dumps())
    subprocess.run(
        [tool, "-S", "-s", str(tmp_path / "ours.key"), "-m", str(tmp_path / "msg"), "-t", "x"],
        check=True,
        capture_output=True,
    )
    minisign.verify(MESSAGE, (tmp_path / "msg.minisig").read_text(), KEY.public_key)
