"""Keys: private files, rotation, and failing closed with a message that helps."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from exporter.keys import (
    SIGNING_KEY,
    SIGNING_PUB,
    Keyring,
    KeyringError,
    generate_keys,
    rotate_vault,
)
from formats import age, minisign


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_makes_private_files(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    made = generate_keys(directory)
    assert _mode(directory) == 0o700
    assert _mode(made.vault_file) == 0o600 and _mode(made.signing_key_file) == 0o600
    assert _mode(made.public_key_file) == 0o644  # public, meant to be published
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [made.vault_file.name, SIGNING_KEY, SIGNING_PUB]
    )  # no temporary files left behind
    keyring = Keyring.load(directory)
    assert keyring.current_recipient == made.recipient
    assert keyring.public_key == made.public_key
    assert minisign.PublicKey.load(made.public_key_file) == made.public_key
    text = made.vault_file.read_text()
    assert f"# public key: {made.recipient}" in text


def test_generate_tightens_an_existing_directory(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    generate_keys(directory)
    assert _mode(directory) == 0o700


def test_generate_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    first = generate_keys(tmp_path)
    with pytest.raises(KeyringError, match="--force"):
        generate_keys(tmp_path)
    assert Keyring.load(tmp_path).public_key == first.public_key
    second = generate_keys(tmp_path, force=True)
    keyring = Keyring.load(tmp_path)
    assert keyring.public_key == second.public_key != first.public_key
    assert len(keyring.vault_identities) == 1 and not first.vault_file.exists()


def test_rotation_keeps_old_identities(tmp_path: Path) -> None:
    generate_keys(tmp_path)
    old = Keyring.load(tmp_path)
    data = io.BytesIO()
    age.encrypt(io.BytesIO(b"gammel"), data, [old.current_recipient])
    new_recipient = rotate_vault(tmp_path)
    keyring = Keyring.load(tmp_path)
    assert keyring.current_recipient == new_recipient != old.current_recipient
    assert len(keyring.vault_identities) == 2
    assert keyring.signing_key.public_key == old.signing_key.public_key
    out = io.BytesIO()
    age.decrypt(io.BytesIO(data.getvalue()), out, keyring.vault_identities)
    assert out.getvalue() == b"gammel"
    rotate_vault(tmp_path)
    assert len(Keyring.load(tmp_path).vault_identities) == 3


def test_missing_directory_names_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match=r"nowhere.*egnedata keys generate --dir"):
        Keyring.load(tmp_path / "nowhere")
    with pytest.raises(KeyringError, match="vault"):
        Keyring.load(tmp_path)  # exists, but empty
    with pytest.raises(KeyringError):
        rotate_vault(tmp_path)


def test_missing_signing_key_names_the_file(tmp_path: Path) -> None:
    generate_keys(tmp_path)
    (tmp_path / SIGNING_KEY).unlink()
    with pytest.raises(KeyringError, match=r"signing\.key: missing.*keys generate"):
        Keyring.load(tmp_path)


def test_readable_secret_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    made.vault_file.chmod(0o644)
    with pytest.raises(KeyringError, match=rf"{made.vault_file.name}.*chmod 600"):
        Keyring.load(tmp_path)
    made.vault_file.chmod(0o600)
    made.signing_key_file.chmod(0o640)
    with pytest.raises(KeyringError, match=r"signing\.key: readable by others"):
        Keyring.load(tmp_path)


def test_unreadable_secret_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    made.signing_key_file.unlink()
    made.signing_key_file.mkdir(mode=0o700)  # unreadable as a file, even for root
    with pytest.raises(KeyringError, match=r"signing\.key: not a regular file"):
        Keyring.load(tmp_path)


def test_symlinked_secret_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path / "keys")
    target = tmp_path / "elsewhere.key"
    made.vault_file.rename(target)
    made.vault_file.symlink_to(target)
    with pytest.raises(KeyringError, match="cannot be opened"):
        Keyring.load(tmp_path / "keys")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"# comment\nAGE-SECRET-KEY-1NOTAKEY\n", "line 2 is not an age identity"),
        (b"# only a comment\n", "holds no age identity"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_vault_file_is_refused(tmp_path: Path, text: bytes, message: str) -> None:
    made = generate_keys(tmp_path)
    made.vault_file.write_bytes(text)
    with pytest.raises(KeyringError, match=message):
        Keyring.load(tmp_path)


def test_malformed_signing_key_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    made.signing_key_file.write_text("untrusted comment: x\nAAAA\n")
    with pytest.raises(KeyringError, match=r"signing\.key: not an Ed25519"):
        Keyring.load(tmp_path)


def test_vault_file_with_several_identities(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    extra = age.X25519Identity.generate()
    with made.vault_file.open("a") as file:
        file.write(f"\n# an extra one\n{extra}\n")
    keyring = Keyring.load(tmp_path)
    assert extra in keyring.vault_identities
