"""Verifying a package ZIP: the signatures over ``SHA256SUMS``, then every file.

A package holds its data files, ``SHA256SUMS`` (see :mod:`formats.manifest`),
``SHA256SUMS.minisig`` and ``SHA256SUMS.sig`` (see :mod:`formats.minisign`) and
``signing-key.pub``, the municipality's public key.

Checked against the municipality's *published* key, a good signature proves where the
package came from (provenance). Checked against the key shipped *inside* the package,
it only proves the files were not changed after signing (integrity): whoever changed
them could have replaced the key as well. The report says which it was.

Nothing is extracted: entries are hashed as they are decompressed, in constant
memory, and the declared sizes are capped so a ZIP bomb costs bounded time.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from formats.errors import FormatError
from formats.manifest import parse_manifest
from formats.minisign import PublicKey, verify, verify_signify_embedded

__all__ = [
    "MANIFEST",
    "MINISIGN_SIGNATURE",
    "PUBLISHED_KEY",
    "SHIPPED_KEY",
    "SHIPPED_KEY_FILE",
    "SIGNIFY_SIGNATURE",
    "FileCheck",
    "VerificationReport",
    "verify_package",
]

MANIFEST = "SHA256SUMS"
MINISIGN_SIGNATURE = "SHA256SUMS.minisig"
SIGNIFY_SIGNATURE = "SHA256SUMS.sig"
SHIPPED_KEY_FILE = "signing-key.pub"
PUBLISHED_KEY = "published key (provenance)"
SHIPPED_KEY = "key shipped in the package (integrity only)"

_SIGNATURE_FILES = frozenset({MANIFEST, MINISIGN_SIGNATURE, SIGNIFY_SIGNATURE})
_MAX_SMALL_FILE = 16 * 1024 * 1024  # SHA256SUMS, signatures, the key
_READ = 1024 * 1024
# zipfile raises all of these for damaged, encrypted or unsupported entries.
_ZIP_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    RuntimeError,
    NotImplementedError,
    ValueError,
    zlib.error,
)


@dataclass(frozen=True)
class FileCheck:
    """One file's result: ``ok``, ``changed``, ``missing``, ``unreadable`` or ``unlisted``."""

    name: str
    status: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class VerificationReport:
    key_id: str = ""
    key_source: str = ""  # PUBLISHED_KEY or SHIPPED_KEY, once a key was found
    trusted_comment: str = ""
    signature_ok: bool = False
    files: list[FileCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and not self.problems and all(f.ok for f in self.files)

    @property
    def proves_provenance(self) -> bool:
        return self.ok and self.key_source == PUBLISHED_KEY


class _Refused(Exception):
    """A check that makes the rest meaningless failed; its message is the problem."""


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > _MAX_SMALL_FILE:
        raise _Refused(f"{name} is implausibly large ({info.file_size} bytes)")
    try:
        return archive.read(info)
    except _ZIP_ERRORS as exc:
        raise _Refused(f"{name} cannot be read: {exc}") from None


def _text(archive: zipfile.ZipFile, name: str) -> str:
    try:
        return _read_small(archive, name).decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f"{name} is not UTF-8 text") from None


def _sha256(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(info) as entry:
        while chunk := entry.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


def _check_signify(archive: zipfile.ZipFile, manifest: bytes, key: PublicKey) -> str | None:
    """A problem with ``SHA256SUMS.sig``, or None if it is good."""
    try:
        embedded = verify_signify_embedded(_read_small(archive, SIGNIFY_SIGNATURE), key)
    except (FormatError, _Refused) as exc:
        return f"{SIGNIFY_SIGNATURE}: {exc}"
    if embedded != manifest:
        return f"{SIGNIFY_SIGNATURE} signs a different {MANIFEST}"
    return None


def verify_package(
    zip_path: Path,
    public_key: PublicKey | None = None,
    *,
    max_total_size: int = 64 * 1024**3,
    max_entries: int = 100_000,
) -> VerificationReport:
    """Check a package; every problem found is in the report, nothing is raised.

    Without ``public_key`` the key shipped in the package is used, which proves
    integrity only. ``max_total_size`` caps the declared uncompressed size of all
    entries together (a ZIP bomb's), ``max_entries`` their number.
    """
    report = VerificationReport()
    try:
        archive = zipfile.ZipFile(zip_path)
    except _ZIP_ERRORS as exc:
        report.problems.append(f"not a readable ZIP file: {exc}")
        return report
    with archive:
        try:
            _check(archive, public_key, report, max_total_size, max_entries)
        except _Refused as exc:
            report.problems.append(str(exc))
    return report


def _check(
    archive: zipfile.ZipFile,
    public_key: PublicKey | None,
    report: VerificationReport,
    max_total_size: int,
    max_entries: int,
) -> None:
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise _Refused(f"the ZIP has {len(infos)} entries, more than {max_entries}")
    if sum(i.file_size for i in infos) > max_total_size:
        raise _Refused(f"the ZIP unpacks to more than {max_total_size} bytes")
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.filename in entries:
            # Unzip tools differ in which copy they extract: the signature covers one.
            raise _Refused(f"{info.filename} appears twice in the ZIP")
        entries[info.filename] = info

    if public_key is None:
        if SHIPPED_KEY_FILE not in entries:
            raise _Refused(f"no public key given and no {SHIPPED_KEY_FILE} in the package")
        try:
            public_key = PublicKey.parse(_text(archive, SHIPPED_KEY_FILE))
        except FormatError as exc:
            raise _Refused(f"{SHIPPED_KEY_FILE}: {exc}") from None
        report.key_source = SHIPPED_KEY
    else:
        report.key_source = PUBLISHED_KEY
    report.key_id = public_key.key_id

    for required in (MANIFEST, MINISIGN_SIGNATURE):
        if required not in entries:
            raise _Refused(f"the package has no {required}")
    manifest_bytes = _read_small(archive, MANIFEST)
    try:
        verified = verify(manifest_bytes, _text(archive, MINISIGN_SIGNATURE), public_key)
        manifest = parse_manifest(manifest_bytes)
    except FormatError as exc:
        raise _Refused(f"{MINISIGN_SIGNATURE}: {exc}") from None
    report.signature_ok = True
    report.trusted_comment = verified.trusted_comment
    if SIGNIFY_SIGNATURE in entries:
        problem = _check_signify(archive, manifest_bytes, public_key)
        if problem:
            report.problems.append(problem)
    else:
        report.problems.append(f"the package has no {SIGNIFY_SIGNATURE}")

    for name, expected in sorted(manifest.items()):
        entry = entries.get(name)
        if entry is None:
            status = "missing"
        else:
            try:
                status = "ok" if _sha256(archive, entry) == expected else "changed"
            except _ZIP_ERRORS as exc:
                status = "unreadable"
                report.problems.append(f"{name}: cannot be read: {exc}")
        report.files.append(FileCheck(name, status))
        if status == "missing":
            report.problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif status == "changed":
            report.problems.append(f"{name}: content does not match {MANIFEST}")
    for name in sorted(set(entries) - set(manifest) - _SIGNATURE_FILES):
        if not name.endswith("/"):  # directory entries hold no data
            report.files.append(FileCheck(name, "unlisted"))
            report.problems.append(f"{name}: in the ZIP but not listed in {MANIFEST}")
