"""Stores to run the contract against: a local directory, and S3 over HTTP (moto)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from exporter.storage import MIN_PART_SIZE, BlobStore, LocalBlobStore, S3BlobStore


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"test-{uuid.uuid4().hex}"
    s3_client.create_bucket(Bucket=name)
    return name


def s3_store(request: pytest.FixtureRequest, **options: Any) -> S3BlobStore:
    return S3BlobStore(
        request.getfixturevalue("bucket"),
        endpoint_url=request.getfixturevalue("s3_endpoint"),
        region="us-east-1",
        **{"prefix": "egnedata/", "part_size": MIN_PART_SIZE, **options},
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each store in turn; the S3 one (smallest parts S3 allows) only starts moto when
    a test asks for it."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    return s3_store(request)
