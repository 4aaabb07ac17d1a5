"""Signing packages with the municipality's Ed25519 key (minisign and signify)."""

from __future__ import annotations

from formats import minisign

__all__ = ["KeySigner"]


class KeySigner:
    """Implements :class:`exporter.pipeline.assemble.Signer` over a minisign key."""

    def __init__(self, key: minisign.SigningKey, *, comment: str = "Egne Data signing key") -> None:
        self._key = key
        self._public_text = key.public_key.dumps(comment)

    @property
    def key_id(self) -> str:
        return self._key.public_key.key_id_hex

    @property
    def public_key_text(self) -> str:
        return self._public_text

    def sign(self, manifest: bytes, *, trusted_comment: str) -> tuple[str, bytes]:
        signature = minisign.sign(manifest, self._key, trusted_comment=trusted_comment)
        return signature, minisign.sign_signify_embedded(manifest, self._key)
