"""Which blob store to use, as one URL setting.

- ``file:///var/lib/egnedata/blobs`` or a plain path (``/var/lib/egnedata/blobs``,
  ``./blobs``): a :class:`~exporter.storage.local.LocalBlobStore` there.
- ``s3://bucket`` or ``s3://bucket/prefix``, with optional query parameters
  ``endpoint_url`` (an S3-compatible server, e.g. ``http://minio:9000``) and
  ``region``: an :class:`~exporter.storage.s3.S3BlobStore`.

Credentials never go in the URL (it is configuration, and ends up in logs); an S3
store takes them from the standard AWS environment variables and files.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from exporter.storage.base import BlobStore
from exporter.storage.local import LocalBlobStore
from exporter.storage.s3 import S3BlobStore

__all__ = ["S3_URL_OPTIONS", "blob_store_from_url"]

S3_URL_OPTIONS = ("endpoint_url", "region")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _local(url: str) -> LocalBlobStore:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"blob store URL {url!r}: a file URL names no host (file:///path)")
    if parts.query or parts.fragment:
        raise ValueError(f"blob store URL {url!r}: a file URL takes no query or fragment")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise ValueError(f"blob store URL {url!r}: a file URL needs an absolute path")
    return LocalBlobStore(Path(path))


def _s3(url: str) -> S3BlobStore:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError(
            f"blob store URL {parts.scheme}://…@{parts.hostname}: put no credentials in the "
            "URL; they come from the AWS environment (AWS_ACCESS_KEY_ID, ...)"
        )
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise ValueError(f"blob store URL {url!r}: {bucket!r} is not an S3 bucket name")
    if parts.fragment:
        raise ValueError(f"blob store URL {url!r}: an s3 URL takes no fragment")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    unknown = sorted(set(query) - set(S3_URL_OPTIONS))
    if unknown:
        raise ValueError(
            f"blob store URL {url!r}: unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(S3_URL_OPTIONS)}"
        )
    options: dict[str, str] = {}
    for name, values in query.items():
        if len(values) != 1 or not values[0]:
            raise ValueError(f"blob store URL {url!r}: give {name} exactly one value")
        options[name] = values[0]
    return S3BlobStore(
        bucket,
        prefix=unquote(parts.path),
        endpoint_url=options.get("endpoint_url"),
        region=options.get("region"),
    )


def blob_store_from_url(url: str) -> BlobStore:
    """The blob store ``url`` names; ``ValueError`` saying what is wrong otherwise."""
    if not url.strip():
        raise ValueError("no blob store URL given")
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("file:") else ""
    if scheme == "":
        return LocalBlobStore(Path(url))
    if scheme == "file":
        return _local(url)
    if scheme == "s3":
        return _s3(url)
    raise ValueError(f"blob store URL {url!r}: use file:///path, a path, or s3://bucket/prefix")
