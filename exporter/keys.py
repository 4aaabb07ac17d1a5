"""The service's keys: vault identities (age X25519) and the signing key (Ed25519).

A key directory (mode 0700) holds::

    vault-<UTC time>-<id>.key   an age identity per file (AGE-SECRET-KEY-1…), mode 0600,
                                with "# created:" and "# public key:" comment lines
    signing.key                 the Ed25519 signing key, minisign format, mode 0600
    signing.pub                 its public key: publish it so recipients can check
                                where a package came from

Every vault identity may decrypt; the newest (names sort by creation time) is the one
new data is encrypted to, so ``rotate`` just adds a newer file and keeps the old ones
for what was encrypted before. Loading fails closed: a missing, unreadable, malformed
or group/world-readable secret is a :class:`~exporter.errors.KeyringError`, and callers
never fall back to writing plaintext.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exporter.errors import KeyringError
from formats import age, minisign
from formats.errors import SignatureError

__all__ = ["GeneratedKeys", "Keyring", "generate_keys", "read_identities", "rotate_vault"]

SIGNING_KEY = "signing.key"
SIGNING_PUB = "signing.pub"
_VAULT_GLOB = "vault-*.key"


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start, never overwriting, then fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def _hint(directory: Path) -> str:
    return f"run `egnedata keys generate --dir {directory}`"


def _read_secret(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyringError(f"{path}: missing ({_hint(path.parent)})") from None
    except OSError as exc:
        raise KeyringError(f"{path}: cannot read: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(
            f"{path}: readable by others (mode {stat.filemode(info.st_mode)}); "
            f"run `chmod 600 {path}`"
        )
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyringError(f"{path}: cannot read: {exc}") from None


def read_identities(path: Path) -> list[age.X25519Identity]:
    """The age identities in a file (``#`` comments and blank lines allowed)."""
    identities = []
    for number, line in enumerate(_read_secret(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(age.X25519Identity.parse(line))
        except ValueError:
            raise KeyringError(f"{path}: line {number} is not an age identity") from None
    if not identities:
        raise KeyringError(f"{path}: holds no age identity")
    return identities


@dataclass(frozen=True)
class Keyring:
    directory: Path
    vault_identities: tuple[age.X25519Identity, ...]
    signing_key: minisign.SigningKey

    @property
    def current_recipient(self) -> age.X25519Recipient:
        """The newest vault identity's recipient: what new data is encrypted to."""
        return self.vault_identities[-1].recipient

    @property
    def public_key(self) -> minisign.PublicKey:
        return self.signing_key.public_key

    @classmethod
    def load(cls, directory: Path) -> Keyring:
        if not directory.is_dir():
            raise KeyringError(f"{directory}: no key directory ({_hint(directory)})")
        vault_files = sorted(directory.glob(_VAULT_GLOB))
        if not vault_files:
            raise KeyringError(f"{directory}: no vault identity ({_hint(directory)})")
        identities = tuple(i for path in vault_files for i in read_identities(path))
        path = directory / SIGNING_KEY
        try:
            signing_key = minisign.SigningKey.parse(_read_secret(path))
        except SignatureError as exc:
            raise KeyringError(f"{path}: {exc}") from None
        return cls(directory, identities, signing_key)


@dataclass(frozen=True)
class GeneratedKeys:
    directory: Path
    vault_file: Path
    recipient: age.X25519Recipient
    signing_key_file: Path
    public_key_file: Path
    public_key: minisign.PublicKey


def _new_vault_file(directory: Path) -> tuple[Path, age.X25519Recipient]:
    identity = age.X25519Identity.generate()
    now = datetime.now(UTC)
    path = directory / f"vault-{now:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.key"
    text = (
        f"# created: {now.isoformat(timespec='seconds')}\n"
        f"# public key: {identity.recipient}\n"
        f"{identity}\n"
    )
    _write_new(path, text, 0o600)
    return path, identity.recipient


def generate_keys(directory: Path, *, force: bool = False) -> GeneratedKeys:
    """A new keyring in ``directory``; refuses to replace one unless ``force``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = [*directory.glob(_VAULT_GLOB), directory / SIGNING_KEY, directory / SIGNING_PUB]
    existing = [p for p in existing if p.exists()]
    if existing and not force:
        raise KeyringError(
            f"{directory}: already holds keys; use --force to replace them "
            "(anything encrypted to the old vault key can then no longer be read)"
        )
    for path in existing:
        path.unlink()
    vault_file, recipient = _new_vault_file(directory)
    key = minisign.SigningKey.generate()
    _write_new(directory / SIGNING_KEY, key.dumps(), 0o600)
    public_text = key.public_key.dumps(f"Egne Data signing key {key.public_key.key_id_hex}")
    _write_new(directory / SIGNING_PUB, public_text, 0o644)
    return GeneratedKeys(
        directory, vault_file, recipient, directory / SIGNING_KEY, directory / SIGNING_PUB,
        key.public_key,
    )


def rotate_vault(directory: Path) -> age.X25519Recipient:
    """Add a new current vault identity; the old ones keep decrypting."""
    Keyring.load(directory)  # refuse to rotate a broken keyring
    _, recipient = _new_vault_file(directory)
    return recipient
