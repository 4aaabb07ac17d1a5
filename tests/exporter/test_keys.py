"""Keys: permissions, rotation, and failing closed."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from exporter.errors import KeyringError
from exporter.keys import Keyring, generate_keys, rotate_vault
from formats import age


def test_generate_makes_private_files(tmp_path: Path) -> None:
    made = generate_keys(tmp_path / "keys")
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE(made.vault_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.signing_key_file.stat().st_mode) == 0o600
    keyring = Keyring.load(tmp_path / "keys")
    assert keyring.current_recipient == made.recipient
    assert keyring.public_key == made.public_key


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    generate_keys(tmp_path)
    with pytest.raises(KeyringError, match="--force"):
        generate_keys(tmp_path)
    generate_keys(tmp_path, force=True)


def test_rotation_keeps_old_identities(tmp_path: Path) -> None:
    generate_keys(tmp_path)
    old = Keyring.load(tmp_path)
    data = io.BytesIO()
    age.encrypt(io.BytesIO(b"gammel"), data, [old.current_recipient])
    new_recipient = rotate_vault(tmp_path)
    keyring = Keyring.load(tmp_path)
    assert keyring.current_recipient == new_recipient != old.current_recipient
    out = io.BytesIO()
    age.decrypt(io.BytesIO(data.getvalue()), out, keyring.vault_identities)
    assert out.getvalue() == b"gammel"


def test_missing_pieces_fail_closed(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="keys generate"):
        Keyring.load(tmp_path / "nowhere")
    generate_keys(tmp_path)
    (tmp_path / "signing.key").unlink()
    with pytest.raises(KeyringError, match=r"signing\.key: missing"):
        Keyring.load(tmp_path)


def test_readable_secret_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    made.vault_file.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        Keyring.load(tmp_path)


def test_malformed_key_is_refused(tmp_path: Path) -> None:
    made = generate_keys(tmp_path)
    made.vault_file.write_text("# comment\nAGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(KeyringError, match="line 2 is not an age identity"):
        Keyring.load(tmp_path)
