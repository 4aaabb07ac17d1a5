"""Evidence: a file a citizen gives with a flag or a contribution.

Only PDF, JPEG and PNG, decided by the file's first bytes (never by its name or a
declared type), at most ``evidence_max_bytes``, stored age-encrypted to the vault key
like everything else, under a key that names no person. The name the citizen's file had
is kept only as a short, plain label.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from exporter.errors import EgneDataError
from exporter.service.context import ServiceContext
from formats import age

__all__ = ["MEDIA_TYPES", "EvidenceRefused", "EvidenceTooLarge", "StoredEvidence",
           "read_evidence", "sniff", "store_evidence"]

MEDIA_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
_CHUNK = 64 * 1024


class EvidenceRefused(EgneDataError, ValueError):
    """A file that is empty, or not a PDF, JPEG or PNG by its bytes."""


class EvidenceTooLarge(EvidenceRefused):
    """A file larger than ``evidence_max_bytes``."""


def sniff(head: bytes) -> str | None:
    """The media type the file's first bytes show, or None for anything else."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _label(filename: str, media_type: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9æøåÆØÅ._ -]", "_", filename.rsplit("/", 1)[-1]
                  .rsplit("\\", 1)[-1]).strip(" ._")[:80]
    return (stem.rsplit(".", 1)[0] if "." in stem else stem or "bilag") + MEDIA_TYPES[media_type]


@dataclass(frozen=True)
class StoredEvidence:
    id: str
    blob_key: str
    media_type: str
    size: int
    sha256: str
    filename: str


def store_evidence(context: ServiceContext, source: IO[bytes], filename: str
                   ) -> StoredEvidence:
    """Check and store the file ``source`` holds (read once, in chunks); nothing is
    stored if it is refused."""
    limit = context.settings.evidence_max_bytes
    head = source.read(_CHUNK)
    media_type = sniff(head)
    if not head:
        raise EvidenceRefused("the file is empty")
    if media_type is None:
        raise EvidenceRefused("the file is not a PDF, JPEG or PNG")
    evidence_id = str(uuid.uuid4())
    key = f"evidence/{evidence_id}.age"
    digest, size = hashlib.sha256(), 0
    keyring = context.keyring
    with context.blobs.open_writer(key) as raw, \
            age.encrypt_stream(raw, [keyring.current_recipient]) as sink:
        block = head
        while block:
            size += len(block)
            if size > limit:
                raise EvidenceTooLarge(f"the file is larger than {limit} bytes")
            digest.update(block)
            sink.write(block)
            block = source.read(_CHUNK)
    return StoredEvidence(evidence_id, key, media_type, size, digest.hexdigest(),
                          _label(filename, media_type))


def read_evidence(context: ServiceContext, blob_key: str) -> Iterator[bytes]:
    """The stored file's bytes, decrypted (and authenticated) as they are read."""
    with context.blobs.open_reader(blob_key) as raw:
        plain = age.decrypt_stream(raw, context.keyring.vault_identities)
        try:
            while block := plain.read(_CHUNK):
                yield block
        finally:
            plain.close()
