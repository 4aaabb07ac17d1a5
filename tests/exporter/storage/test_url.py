from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporter.storage import (
    S3_URL_OPTIONS,
    LocalBlobStore,
    S3BlobStore,
    blob_store_from_url,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("file:///var/lib/egnedata/blobs", "/var/lib/egnedata/blobs"),
        ("file://localhost/srv/blobs", "/srv/blobs"),
        ("file:///srv/with%20space", "/srv/with space"),
        ("/var/lib/egnedata/blobs", "/var/lib/egnedata/blobs"),
    ],
)
def test_local(url: str, root: str) -> None:
    store = blob_store_from_url(url)
    assert isinstance(store, LocalBlobStore)
    assert store.root == Path(root)


def test_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = blob_store_from_url("blobs")
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "blobs"


def test_s3(s3_endpoint: str) -> None:
    store = blob_store_from_url(f"s3://egnedata-blobs/kommune/prod?endpoint_url={s3_endpoint}")
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("egnedata-blobs", "kommune/prod/")


def test_s3_with_region_and_no_prefix(s3_endpoint: str) -> None:
    store = blob_store_from_url("s3://egnedata-blobs?region=eu-north-1")
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("egnedata-blobs", "")


def test_s3_store_from_a_url_works(s3_endpoint: str, s3_client: object, bucket: str) -> None:
    store = blob_store_from_url(f"s3://{bucket}/p?endpoint_url={s3_endpoint}&region=us-east-1")
    with store.open_writer("k") as out:
        out.write(b"hello")
    with store.open_reader("k") as stream:
        assert stream.read() == b"hello"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no blob store URL"),
        ("file://host/path", "no host"),
        ("file:relative", "absolute"),
        ("file:///x?y=1", "no query"),
        ("s3://AKIA:secret@bucket/p", "no credentials"),
        ("s3://Bad_Bucket", "not an S3 bucket"),
        ("s3://", "not an S3 bucket"),
        ("s3://bucket?endpoint=http://x", "unknown option"),
        ("s3://bucket?region=a&region=b", "exactly one"),
        ("s3://bucket?region=", "exactly one"),
        ("s3://bucket/../x", "prefix"),
        ("gs://bucket", "use file:///path"),
        ("http://example.org/blobs", "use file:///path"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        blob_store_from_url(url)


def test_the_credentials_are_not_repeated_in_the_error() -> None:
    with pytest.raises(ValueError) as caught:
        blob_store_from_url("s3://AKIA:secret@bucket/p")
    assert "secret" not in str(caught.value) and "AKIA" not in str(caught.value)


def test_every_url_form_and_option_is_documented() -> None:
    doc = (ROOT / "docs" / "storage.md").read_text("utf-8")
    for form in ("file:///", "s3://"):
        assert form in doc
    missing = [o for o in S3_URL_OPTIONS if not re.search(rf"`{o}`", doc)]
    assert missing == []
