"""`egnedata keys`, `decrypt` and `verify` as a user runs them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from exporter.cli import _register, app
from formats import age

_register()
runner = CliRunner()


def test_keys_generate_prints_public_halves(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "generate", "--dir", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert "age1" in result.output and "untrusted comment:" in result.output
    assert "AGE-SECRET-KEY" not in result.output
    again = runner.invoke(app, ["keys", "generate", "--dir", str(tmp_path / "k")])
    assert again.exit_code == 2 and "--force" in again.output
    rotated = runner.invoke(app, ["keys", "rotate", "--dir", str(tmp_path / "k")])
    assert rotated.exit_code == 0 and "age1" in rotated.output


def _demo(tmp_path: Path) -> tuple[Path, Path, Path]:
    out = tmp_path / "out"
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return next(out.glob("*.zip")), next(out.glob("*.zip.age")), out / "keys"


def test_decrypt_and_verify_the_demo_package(tmp_path: Path) -> None:
    plain, encrypted, keys = _demo(tmp_path)
    identity = next(keys.glob("vault-*.key"))
    target = tmp_path / "decrypted.zip"
    result = runner.invoke(app, ["decrypt", str(encrypted), "-i", str(identity), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == plain.read_bytes()
    verified = runner.invoke(app, ["verify", str(target), "--pubkey", str(keys / "signing.pub")])
    assert verified.exit_code == 0, verified.output
    assert "proves the package came from" in verified.output
    shipped = runner.invoke(app, ["verify", str(target)])
    assert shipped.exit_code == 0 and "integrity only" in shipped.output


def test_decrypt_of_tampered_file_leaves_no_output(tmp_path: Path) -> None:
    _, encrypted, keys = _demo(tmp_path)
    data = bytearray(encrypted.read_bytes())
    data[-100] ^= 1
    encrypted.write_bytes(bytes(data))
    target = tmp_path / "decrypted.zip"
    result = runner.invoke(
        app,
        ["decrypt", str(encrypted), "-i", str(next(keys.glob("vault-*.key"))), "-o", str(target)],
    )
    assert result.exit_code == 1
    assert "failed authentication" in result.output
    assert not target.exists() and not list(tmp_path.glob(".*.part"))


def test_decrypt_with_passphrase(tmp_path: Path) -> None:
    source = tmp_path / "f.age"
    buffer = io.BytesIO()
    age.encrypt(io.BytesIO(b"hej"), buffer, [age.ScryptRecipient("hemmelig", 10)])
    source.write_bytes(buffer.getvalue())
    (tmp_path / "pw").write_text("hemmelig\n")
    result = runner.invoke(
        app,
        [
            "decrypt",
            str(source),
            "--passphrase-file",
            str(tmp_path / "pw"),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o").read_bytes() == b"hej"


def test_decrypt_needs_a_key(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decrypt", str(tmp_path / "x"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "identity" in result.output


def test_verify_reports_tampering(tmp_path: Path) -> None:
    plain, _, keys = _demo(tmp_path)
    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(tampered, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, b"<p>forfalsket</p>" if info.filename == "index.html" else data)
    result = runner.invoke(app, ["verify", str(tampered), "--pubkey", str(keys / "signing.pub")])
    assert result.exit_code == 1
    assert "index.html: content does not match" in result.output
