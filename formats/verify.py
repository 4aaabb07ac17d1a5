"""Verifying a package ZIP: the signature over SHA256SUMS, then every file's hash.

Checked against the municipality's published key this proves where the package came
from (provenance); checked against the key shipped inside the package it only proves
the files were not changed after signing (integrity), since whoever changed them could
have replaced the key too. The report says which.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from formats.errors import FormatError, ManifestError, SignatureError
from formats.manifest import parse_manifest
from formats.minisign import PublicKey, verify

__all__ = ["SIGNATURE_FILES", "VerificationReport", "verify_package"]

SIGNATURE_FILES = ("SHA256SUMS", "SHA256SUMS.minisig", "SHA256SUMS.sig")
SHIPPED_KEY = "signing-key.pub"
_MAX_MANIFEST = 16 * 1024 * 1024


@dataclass
class VerificationReport:
    key_id: str = ""
    key_source: str = ""  # "published" or "shipped"
    trusted_comment: str = ""
    files: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.files)

    @property
    def proves_provenance(self) -> bool:
        return self.key_source == "published"


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > _MAX_MANIFEST:
        raise ManifestError(f"{name} is implausibly large")
    return archive.read(name)


def _hash(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as entry:
        while chunk := entry.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_package(path: Path, public_key: PublicKey | None = None) -> VerificationReport:
    report = VerificationReport()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a readable ZIP file: {exc}")
        return report
    with archive:
        names = set(archive.namelist())
        try:
            if public_key is None:
                if SHIPPED_KEY not in names:
                    raise SignatureError(f"no --pubkey given and no {SHIPPED_KEY} in the package")
                public_key = PublicKey.parse(_read_small(archive, SHIPPED_KEY).decode("utf-8"))
                report.key_source = "shipped"
            else:
                report.key_source = "published"
            report.key_id = public_key.key_id_hex
            for required in ("SHA256SUMS", "SHA256SUMS.minisig"):
                if required not in names:
                    raise SignatureError(f"the package has no {required}")
            manifest_bytes = _read_small(archive, "SHA256SUMS")
            signature = _read_small(archive, "SHA256SUMS.minisig").decode("utf-8")
            verified = verify(manifest_bytes, signature, public_key)
            report.trusted_comment = verified.trusted_comment
            manifest = parse_manifest(manifest_bytes)
        except (FormatError, UnicodeDecodeError, KeyError) as exc:
            report.problems.append(str(exc))
            return report
        for name, expected in sorted(manifest.items()):
            if name not in names:
                report.files[name] = False
                report.problems.append(f"{name}: listed in SHA256SUMS but missing")
                continue
            try:
                good = _hash(archive, name) == expected
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                good = False
                report.problems.append(f"{name}: cannot be read: {exc}")
            report.files[name] = good
            if not good:
                report.problems.append(f"{name}: content does not match SHA256SUMS")
        for name in sorted(names - set(manifest) - set(SIGNATURE_FILES)):
            if not name.endswith("/"):
                report.problems.append(f"{name}: not listed in SHA256SUMS")
    return report
