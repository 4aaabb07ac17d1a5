"""The service's own key for logging in: ``private_key_jwt`` client authentication.

The key is a private JWK in a file of its own (mode 0600), apart from the package keys:
the identity provider knows its public half (registered with the client, or fetched
from ``/login/jwks.json``). ``egnedata login keygen`` makes one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, Key, KeySet, RSAKey, import_key

from exporter.errors import KeyringError

__all__ = ["client_key_algorithm", "generate_client_key", "load_client_key", "public_jwks"]


def generate_client_key(path: Path) -> ECKey:
    """A new P-256 key written to ``path``, readable by the owner only; never overwrites."""
    key = ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, private=True)
    key.ensure_kid()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(key.as_dict(private=True), out, indent=2)
        out.write("\n")
    return key


def load_client_key(path: Path) -> Key:
    """The private JWK in ``path``: fail closed if it is missing, open to others or public."""
    try:
        mode = path.stat().st_mode
        data: Any = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyringError(f"cannot read the login client key {path}: {exc}") from None
    if mode & 0o077:
        raise KeyringError(f"the login client key {path} is readable by others (chmod 600 it)")
    try:
        key = import_key(data)
    except Exception as exc:  # joserfc raises several kinds for a bad key
        raise KeyringError(f"the login client key {path} is not a JWK: {exc}") from None
    if not isinstance(key, RSAKey | ECKey) or not key.is_private:
        raise KeyringError(f"the login client key {path} must be a private RSA or EC key")
    key.ensure_kid()
    return key


def client_key_algorithm(key: Key) -> str:
    """The JWS algorithm for signing client assertions with ``key``."""
    declared = key.get("alg")
    if isinstance(declared, str):
        return declared
    if isinstance(key, ECKey):
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[key.curve_name]
    return "RS256"


def public_jwks(key: Key) -> dict[str, Any]:
    """The JWK Set with the public half of ``key``, to publish or register."""
    return dict(KeySet([import_key(key.as_dict(private=False))]).as_dict(private=False))
