"""What is particular to the local store: files, modes, temporary files, directories."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from exporter.storage import BlobNotFound, LocalBlobStore


def test_blobs_are_private_files_under_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with store.open_writer("packages/a.zip.age") as out:
        out.write(b"x")
    path = tmp_path / "blobs" / "packages" / "a.zip.age"
    assert path.read_bytes() == b"x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


def test_the_temporary_file_is_beside_the_blob_and_not_listed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with store.open_writer("stage/r1/a.csv.age") as out:
        out.write(b"partial")
        out.flush()
        (tmp,) = (tmp_path / "stage" / "r1").iterdir()
        assert tmp.name.startswith(".a.csv.age.") and tmp.name.endswith(".tmp")
        assert list(store.list()) == []
    assert [p.name for p in (tmp_path / "stage" / "r1").iterdir()] == ["a.csv.age"]


def test_an_aborted_write_leaves_no_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(KeyboardInterrupt), store.open_writer("stage/r1/a.csv.age") as out:
        out.write(b"partial")
        raise KeyboardInterrupt
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_delete_removes_emptied_directories_but_not_the_root(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    for key in ("stage/r1/a.csv.age", "stage/r2/b.csv.age"):
        with store.open_writer(key) as out:
            out.write(b"x")
    store.delete("stage/r1/a.csv.age")
    assert sorted(p.name for p in (root / "stage").iterdir()) == ["r2"]
    store.delete("stage/r2/b.csv.age")
    assert list(root.iterdir()) == []


def test_a_symlink_is_not_a_way_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    root = tmp_path / "blobs"
    root.mkdir()
    (root / ".link").symlink_to(outside)
    store = LocalBlobStore(root)
    assert list(store.list()) == []


def test_a_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalBlobStore(Path("blobs"))
    assert store.root == tmp_path / "blobs"


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record what each fsync is for: a file or a directory (by the path behind it)."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        synced.append("dir" if target.is_dir() else "file")
        real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_durable_write_syncs_the_file_and_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _count_fsyncs(monkeypatch)
    with LocalBlobStore(tmp_path).open_writer("packages/a.zip.age") as out:
        out.write(b"x")
    assert synced == ["file", "dir"]


def test_a_batch_is_synced_once_per_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    synced = _count_fsyncs(monkeypatch)
    keys = [f"stage/r1/s1/1/{name}.age" for name in ("a.jsonl", "a.csv", "a.summary")]
    for key in keys:
        with store.open_writer(key, durable=False) as out:
            out.write(b"x")
    assert synced == []  # nothing waited for the disk yet
    store.sync(keys)
    # three files; then s1/1, s1, r1, stage and the root, each once
    assert synced == ["file"] * 3 + ["dir"] * 5


def test_syncing_a_missing_blob_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound):
        LocalBlobStore(tmp_path).sync(["stage/r1/none.age"])


def test_temporary_files_of_killed_writes_are_removed_once_a_day_old(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with store.open_writer("stage/r1/a.csv.age") as out:
        out.write(b"kept")
    old = tmp_path / "stage" / "r1" / ".b.csv.age.x1y2.tmp"
    fresh = tmp_path / "stage" / "r1" / ".c.csv.age.z3w4.tmp"
    old.write_bytes(b"a killed write")
    fresh.write_bytes(b"a write going on now")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(old, (two_days_ago, two_days_ago))
    assert store.remove_abandoned() == 1
    assert not old.exists() and fresh.exists()
    assert [info.key for info in store.list()] == ["stage/r1/a.csv.age"]
