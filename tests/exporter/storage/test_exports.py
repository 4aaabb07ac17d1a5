"""The storage package's public surface is explicit."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import exporter.storage

MODULES = sorted(
    f"exporter.storage.{m.name}" for m in pkgutil.iter_modules(exporter.storage.__path__)
)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_and_class_is_in_all(module: str) -> None:
    imported = importlib.import_module(module)
    public = {
        name
        for name, value in vars(imported).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", None) == module
    }
    assert public <= set(imported.__all__), public - set(imported.__all__)
    assert all(hasattr(imported, name) for name in imported.__all__)


def test_the_package_exports_what_callers_need() -> None:
    assert set(exporter.storage.__all__) >= {
        "BlobInfo",
        "BlobNotFound",
        "BlobStage",
        "BlobStore",
        "LocalBlobStore",
        "S3BlobStore",
        "StorageError",
        "blob_store_from_url",
    }
    for name in exporter.storage.__all__:
        assert getattr(exporter.storage, name) is not None
