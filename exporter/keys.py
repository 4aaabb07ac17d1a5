"""The service's keys: vault identities (age X25519) and the signing key (Ed25519).

A key directory (mode 0700) holds::

    vault-<UTC time>-<random>.key   one age identity (AGE-SECRET-KEY-1…) a file, mode
                                    0600, with "# created:" and "# public key:" lines
    signing.key                     the Ed25519 signing key: minisign's secret key
                                    format, unencrypted, mode 0600
    signing.pub                     its public key (minisign/signify format), mode
                                    0644: publish it, so recipients can check where a
                                    package came from

Every vault identity may decrypt; the newest (file names sort by creation time) is
the one new data is encrypted to. ``rotate_vault`` adds a newer file and leaves the
older ones, which still open what was encrypted before.

Files are written to a temporary name, synced, and then linked into place, so a
crash never leaves a half-written key under its real name. Loading fails closed: a
missing, unreadable, malformed or group/world-readable secret raises
:class:`KeyringError` naming the file and what to do, and callers never fall back to
writing plaintext.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exporter.errors import KeyringError
from exporter.files import fsync_dir
from formats import age, minisign
from formats.errors import FormatError

__all__ = [
    "SIGNING_KEY",
    "SIGNING_PUB",
    "GeneratedKeys",
    "Keyring",
    "KeyringError",
    "generate_keys",
    "read_identities",
    "rotate_vault",
]

SIGNING_KEY = "signing.key"
SIGNING_PUB = "signing.pub"
_VAULT_GLOB = "vault-*.key"
_MAX_KEY_FILE = 64 * 1024


def _hint(directory: Path) -> str:
    return f"run `egnedata keys generate --dir {directory}`"



def _write_atomic(path: Path, text: str, mode: int, *, replace: bool) -> None:
    """Write ``path`` via a synced temporary file; never over an existing file
    unless ``replace``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            tmp.replace(path)
        else:
            os.link(tmp, path)  # fails if ``path`` exists: no silent overwrite
            tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _read_secret(path: Path) -> str:
    """A secret file's text, refused if others may read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise KeyringError(f"{path}: missing; {_hint(path.parent)}") from None
    except OSError as exc:
        raise KeyringError(f"{path}: cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyringError(f"{path}: not a regular file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"{path}: readable by others (mode {stat.filemode(info.st_mode)}); "
                f"run `chmod 600 {path}` if it was not exposed, else make new keys"
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(_MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyringError(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > _MAX_KEY_FILE:
        raise KeyringError(f"{path}: too large to be a key file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"{path}: not a key file (not UTF-8 text)") from None


def parse_identities(text: str, source: str) -> list[age.X25519Identity]:
    """The age identities in an identity file's text: one a line, ``#`` comments and
    blank lines allowed, as age itself reads them."""
    identities = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(age.X25519Identity.parse(line))
        except ValueError:
            raise KeyringError(
                f"{source}: line {number} is not an age identity (AGE-SECRET-KEY-1…)"
            ) from None
    if not identities:
        raise KeyringError(f"{source}: holds no age identity")
    return identities


def read_identities(path: Path) -> list[age.X25519Identity]:
    """The identities in a secret file that only its owner can read."""
    return parse_identities(_read_secret(path), str(path))


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

    def seal(self, plain: bytes) -> bytes:
        """``plain`` age-encrypted to the current vault key: small values kept at rest
        in the database (credentials, a cached overview)."""
        out = io.BytesIO()
        age.encrypt(io.BytesIO(plain), out, [self.current_recipient])
        return out.getvalue()

    def unseal(self, sealed: bytes) -> bytes:
        """What :meth:`seal` sealed, with any vault identity (keys rotate)."""
        out = io.BytesIO()
        age.decrypt(io.BytesIO(sealed), out, self.vault_identities)
        return out.getvalue()

    @classmethod
    def load(cls, directory: Path) -> Keyring:
        if not directory.is_dir():
            raise KeyringError(f"{directory}: no key directory there; {_hint(directory)}")
        vault_files = sorted(directory.glob(_VAULT_GLOB))
        if not vault_files:
            raise KeyringError(f"{directory}: no vault identity (vault-*.key); {_hint(directory)}")
        identities = tuple(i for path in vault_files for i in read_identities(path))
        path = directory / SIGNING_KEY
        try:
            signing_key = minisign.SigningKey.parse(_read_secret(path))
        except FormatError as exc:
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
    _write_atomic(path, text, 0o600, replace=False)
    return path, identity.recipient


def _private_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(directory.stat().st_mode) != 0o700:
        directory.chmod(0o700)


def generate_keys(directory: Path, *, force: bool = False) -> GeneratedKeys:
    """A new keyring in ``directory``; refuses to replace one unless ``force``.

    With ``force`` the old vault identities are deleted once the new keys are in
    place: whatever was encrypted to them can then no longer be read.
    """
    _private_directory(directory)
    old_vaults = sorted(directory.glob(_VAULT_GLOB))
    existing = [*old_vaults, *(p for p in (directory / SIGNING_KEY,) if p.exists())]
    if existing and not force:
        raise KeyringError(
            f"{directory}: already holds keys; use --force to replace them "
            "(anything encrypted to the old vault keys can then no longer be read)"
        )
    vault_file, recipient = _new_vault_file(directory)
    key = minisign.SigningKey.generate()
    _write_atomic(directory / SIGNING_KEY, key.dumps(), 0o600, replace=force)
    public_text = key.public_key.dumps(f"Egne Data signing key {key.public_key.key_id}")
    _write_atomic(directory / SIGNING_PUB, public_text, 0o644, replace=True)
    for old in old_vaults:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return GeneratedKeys(
        directory=directory,
        vault_file=vault_file,
        recipient=recipient,
        signing_key_file=directory / SIGNING_KEY,
        public_key_file=directory / SIGNING_PUB,
        public_key=key.public_key,
    )


def rotate_vault(directory: Path) -> age.X25519Recipient:
    """Add a new current vault identity; the old ones keep decrypting."""
    Keyring.load(directory)  # refuse to rotate a broken keyring
    _, recipient = _new_vault_file(directory)
    return recipient
