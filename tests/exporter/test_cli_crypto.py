"""`egnedata keys`, `decrypt` and `verify` as a user runs them (typer's CliRunner)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import exporter.cli.crypto  # noqa: F401 - registers the commands on ``app``
from exporter.cli import app
from exporter.keys import Keyring
from formats import age, minisign
from tests.formats.package_kit import make_package

runner = CliRunner()


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def _encrypted(tmp_path: Path, keys: Path, data: bytes) -> Path:
    path = tmp_path / "package.zip.age"
    with path.open("wb") as out:
        age.encrypt(io.BytesIO(data), out, [Keyring.load(keys).current_recipient])
    return path


def test_keys_generate_prints_only_public_halves(tmp_path: Path) -> None:
    directory = tmp_path / "k"
    result = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    keyring = Keyring.load(directory)
    assert str(keyring.current_recipient) in result.output
    assert keyring.public_key.dumps().splitlines()[1] in result.output
    assert str(directory / "signing.pub") in result.output
    assert "AGE-SECRET-KEY" not in result.output
    again = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    assert again.exit_code == 1 and "--force" in again.output
    forced = runner.invoke(app, ["keys", "generate", "--dir", str(directory), "--force"])
    assert forced.exit_code == 0


def test_keys_rotate(keys: Path) -> None:
    before = Keyring.load(keys).current_recipient
    result = runner.invoke(app, ["keys", "rotate", "--dir", str(keys)])
    assert result.exit_code == 0, result.output
    after = Keyring.load(keys).current_recipient
    assert after != before and str(after) in result.output


def test_keys_rotate_without_keys_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "rotate", "--dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "egnedata keys generate" in result.output
    assert "Traceback" not in result.output


def test_decrypt_with_the_vault_identity(tmp_path: Path, keys: Path) -> None:
    encrypted = _encrypted(tmp_path, keys, b"pakke" * 50_000)
    identity = next(keys.glob("vault-*.key"))
    target = tmp_path / "out.zip"
    result = runner.invoke(app, ["decrypt", str(encrypted), "-i", str(identity), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == b"pakke" * 50_000


def test_identity_file_with_comments_and_several_keys(tmp_path: Path, keys: Path) -> None:
    encrypted = _encrypted(tmp_path, keys, b"hej")
    vault = next(keys.glob("vault-*.key")).read_text()
    identities = tmp_path / "identities.txt"
    identities.write_text(f"# mine\n{age.X25519Identity.generate()}\n\n# the vault\n{vault}")
    target = tmp_path / "out"
    result = runner.invoke(
        app, ["decrypt", str(encrypted), "-i", str(identities), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == b"hej"


def test_decrypt_of_a_tampered_file_leaves_no_output(tmp_path: Path, keys: Path) -> None:
    encrypted = _encrypted(tmp_path, keys, b"x" * 300_000)
    data = bytearray(encrypted.read_bytes())
    data[-100] ^= 1
    encrypted.write_bytes(bytes(data))
    target = tmp_path / "out.zip"
    identity = next(keys.glob("vault-*.key"))
    result = runner.invoke(app, ["decrypt", str(encrypted), "-i", str(identity), "-o", str(target)])
    assert result.exit_code == 1
    assert "failed authentication" in result.output and "nothing was written" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not target.exists() and not list(tmp_path.glob(".out.zip*"))


def test_decrypt_with_the_wrong_key(tmp_path: Path, keys: Path) -> None:
    encrypted = _encrypted(tmp_path, keys, b"x")
    other = tmp_path / "other.txt"
    other.write_text(f"{age.X25519Identity.generate()}\n")
    result = runner.invoke(app, ["decrypt", str(encrypted), "-i", str(other), "-o", "out"])
    assert result.exit_code == 1 and "none of the given identities" in result.output


def test_decrypt_with_a_passphrase(tmp_path: Path) -> None:
    source = tmp_path / "f.age"
    buffer = io.BytesIO()
    age.encrypt(io.BytesIO(b"hej"), buffer, [age.ScryptRecipient("hemmelig", 10)], armor=True)
    source.write_bytes(buffer.getvalue())
    (tmp_path / "pw").write_text("hemmelig\n")
    args = ["decrypt", str(source), "--passphrase-file", str(tmp_path / "pw")]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o").read_bytes() == b"hej"
    capped = runner.invoke(app, [*args, "-o", str(tmp_path / "p"), "--max-work-factor", "9"])
    assert capped.exit_code == 1 and "above the limit" in capped.output
    assert not (tmp_path / "p").exists()


def test_decrypt_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decrypt", str(tmp_path / "x"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "identity" in result.output
    (tmp_path / "id").write_text("not a key\n")
    result = runner.invoke(
        app, ["decrypt", str(tmp_path / "x"), "-i", str(tmp_path / "id"), "-o", "o"]
    )
    assert result.exit_code == 1 and "line 1 is not an age identity" in result.output
    (tmp_path / "id").write_text(f"{age.X25519Identity.generate()}\n")
    result = runner.invoke(
        app, ["decrypt", str(tmp_path / "missing"), "-i", str(tmp_path / "id"), "-o", "o"]
    )
    assert result.exit_code == 1 and "missing" in result.output
    assert "Traceback" not in result.output


def test_verify_against_the_published_key(tmp_path: Path, keys: Path) -> None:
    keyring = Keyring.load(keys)
    package = make_package(tmp_path / "p.zip", keyring.signing_key)
    args = ["verify", str(package), "--pubkey", str(keys / "signing.pub")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "published key (provenance)" in result.output
    assert keyring.public_key.key_id in result.output
    assert "signed by the holder of the key you gave" in result.output


def test_verify_with_the_shipped_key_says_it_proves_integrity_only(tmp_path: Path) -> None:
    package = make_package(tmp_path / "p.zip", minisign.SigningKey.generate())
    result = runner.invoke(app, ["verify", str(package)])
    assert result.exit_code == 0, result.output
    assert "integrity only" in result.output and "--pubkey" in result.output


def test_verify_reports_tampering(tmp_path: Path, keys: Path) -> None:
    package = make_package(tmp_path / "p.zip", Keyring.load(keys).signing_key)
    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(package) as old, zipfile.ZipFile(tampered, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, b"<p>forfalsket</p>" if info.filename == "index.html" else data)
        new.writestr("extra.txt", b"sneaked in")
    result = runner.invoke(app, ["verify", str(tampered), "--pubkey", str(keys / "signing.pub")])
    assert result.exit_code == 1
    assert "index.html: content does not match" in result.output
    assert "extra.txt: in the ZIP but not listed" in result.output


def test_verify_against_another_key_fails(tmp_path: Path, keys: Path) -> None:
    package = make_package(tmp_path / "p.zip", minisign.SigningKey.generate())
    result = runner.invoke(app, ["verify", str(package), "--pubkey", str(keys / "signing.pub")])
    assert result.exit_code == 1 and "signed by key" in result.output


def test_verify_usage_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["verify", str(tmp_path / "none.zip")]).exit_code == 1
    (tmp_path / "bad.pub").write_text("nonsense")
    (tmp_path / "p.zip").write_bytes(b"")
    args = ["verify", str(tmp_path / "p.zip"), "--pubkey", str(tmp_path / "bad.pub")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "bad.pub" in result.output
