"""Build small signed package ZIPs by hand, the way the pipeline lays them out."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

from formats.manifest import format_manifest
from formats.minisign import SigningKey, sign, sign_signify_embedded

SAMPLE_FILES: Mapping[str, bytes] = {
    "index.html": b"<!doctype html><title>Dine data</title><p>Hej</p>\n",
    "data/sager.csv": "id;titel\n1;Ansøgning om boligstøtte\n".encode(),
    "data/sager.jsonld": b'{"@id": "urn:egnedata:case:1"}\n',
}
TRUSTED_COMMENT = "package:0001 time:2026-11-01T12:00:00Z"


def signed_files(files: Mapping[str, bytes], key: SigningKey) -> dict[str, bytes]:
    """``files`` plus the public key, ``SHA256SUMS`` and both signatures."""
    contents = {**files, "signing-key.pub": key.public_key.dumps("Egne Data").encode()}
    manifest = format_manifest(
        (name, hashlib.sha256(data).hexdigest()) for name, data in contents.items()
    )
    contents["SHA256SUMS"] = manifest
    contents["SHA256SUMS.minisig"] = sign(manifest, key, trusted_comment=TRUSTED_COMMENT).encode()
    contents["SHA256SUMS.sig"] = sign_signify_embedded(manifest, key)
    return contents


def write_zip(path: Path, contents: Mapping[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(contents.items()):
            archive.writestr(name, data)
    return path


def make_package(path: Path, key: SigningKey, files: Mapping[str, bytes] = SAMPLE_FILES) -> Path:
    return write_zip(path, signed_files(files, key))
