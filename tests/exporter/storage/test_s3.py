"""What is particular to S3: multipart uploads, the prefix, errors from boto3."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config

from exporter.storage import (
    MIN_PART_SIZE,
    BlobNotFound,
    PermanentStorageError,
    RetryableStorageError,
    S3BlobStore,
    StorageError,
)
from tests.exporter.storage.conftest import s3_store

MiB = 1024 * 1024


@pytest.fixture
def store(request: pytest.FixtureRequest) -> S3BlobStore:
    return s3_store(request)


def test_objects_live_under_the_prefix(store: S3BlobStore, s3_client: Any, bucket: str) -> None:
    with store.open_writer("packages/a.zip.age") as out:
        out.write(b"x")
    names = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == ["egnedata/packages/a.zip.age"]


def test_a_large_blob_goes_up_in_parts(store: S3BlobStore, s3_client: Any, bucket: str) -> None:
    with store.open_writer("big") as out:
        for _ in range(11):
            out.write(b"\x01" * MiB)
    head = s3_client.head_object(Bucket=bucket, Key="egnedata/big")
    assert head["ContentLength"] == 11 * MiB
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 1 MiB
    with store.open_reader("big", 5 * MiB - 2, 5 * MiB + 2) as stream:
        assert stream.read() == b"\x01" * 4


def test_a_small_blob_is_one_put(store: S3BlobStore, s3_client: Any, bucket: str) -> None:
    with store.open_writer("small") as out:
        out.write(b"x" * 1000)
    assert "-" not in s3_client.head_object(Bucket=bucket, Key="egnedata/small")["ETag"]


def test_aborted_write_leaves_no_multipart_upload(
    store: S3BlobStore, s3_client: Any, bucket: str
) -> None:
    with pytest.raises(RuntimeError), store.open_writer("big") as out:
        out.write(b"x" * (2 * MIN_PART_SIZE + 10))
        assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        raise RuntimeError("the source failed")
    assert not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket)


def test_objects_that_are_not_keys_are_not_listed(
    store: S3BlobStore, s3_client: Any, bucket: str
) -> None:
    s3_client.put_object(Bucket=bucket, Key="egnedata/a b", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="elsewhere/c", Body=b"x")
    with store.open_writer("ok") as out:
        out.write(b"x")
    assert [i.key for i in store.list()] == ["ok"]


def test_missing_bucket_is_permanent(s3_endpoint: str) -> None:
    store = S3BlobStore("no-such-bucket", endpoint_url=s3_endpoint, region="us-east-1")
    with pytest.raises(PermanentStorageError), store.open_writer("k") as out:
        out.write(b"x")
    with pytest.raises(PermanentStorageError, match="NoSuchBucket"), store.open_reader("k"):
        pass
    with pytest.raises(PermanentStorageError):
        list(store.list())


def test_unreachable_endpoint_is_retryable() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    store = S3BlobStore("bucket", client=client)
    for call in (lambda: store.size("k"), lambda: store.delete("k"), lambda: list(store.list())):
        with pytest.raises(RetryableStorageError) as caught:
            call()
        assert not isinstance(caught.value, BlobNotFound)
    with pytest.raises(RetryableStorageError), store.open_writer("k") as out:
        out.write(b"x")


def test_no_boto_exception_escapes(store: S3BlobStore) -> None:
    with pytest.raises(StorageError) as caught, store.open_reader("missing"):
        pass
    assert type(caught.value) is BlobNotFound


@pytest.mark.parametrize("part_size", [MIN_PART_SIZE - 1, 6 * 1024**3])
def test_part_size_within_s3_limits(part_size: int) -> None:
    with pytest.raises(ValueError, match="part_size"):
        S3BlobStore("bucket", part_size=part_size, client=object())
