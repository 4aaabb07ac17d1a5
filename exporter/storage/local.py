"""A blob store in a local directory: the key ``a/b.age`` is the file ``<root>/a/b.age``.

A blob is written to a temporary file beside its final name (``.<name>.<random>.tmp``,
which is never a valid key, so never listed), synced, and renamed into place; the
directory is synced after. A reader therefore sees the old blob or the new one, never
part of one, and a write that fails or is abandoned leaves nothing behind (a killed
process can leave its temporary file: :meth:`LocalBlobStore.remove_abandoned`, which
every server and worker runs hourly, deletes those a day old). A blob
written with ``durable=False`` is renamed into place unsynced; :meth:`sync` then syncs
a batch of them and their directories, one wait for the disk for all of them. Files are
created mode 0600 and directories 0700. Emptied directories are removed on delete.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, cast

from exporter.errors import (
    BlobNotFound,
    PermanentStorageError,
    RetryableStorageError,
    StorageError,
)
from exporter.files import fsync_dir
from exporter.storage.base import BlobInfo
from exporter.storage.names import check_key, check_prefix
from exporter.storage.ranges import RangeReader, buffered, span

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["LocalBlobStore"]

# Failures a later attempt may not meet: a full, over-quota, busy or flaky disk.
_RETRYABLE = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EBUSY, errno.EINTR}
_MKDIR_ATTEMPTS = 5
WRITE_BUFFER = 256 * 1024


def _fail(action: str, key: str, exc: OSError) -> NoReturn:
    kind = RetryableStorageError if exc.errno in _RETRYABLE else PermanentStorageError
    raise kind(f"cannot {action} blob {key!r}: {exc.strerror or exc}") from exc


class _FileSink(io.RawIOBase):
    """Writes to a file descriptor, failing as a storage error (a full disk, say)."""

    def __init__(self, fd: int, key: str) -> None:
        self._fd = fd
        self._key = key

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            _fail("write", self._key, exc)

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()



class LocalBlobStore:
    """Blobs as files under ``root`` (created on the first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temp_file(self, path: Path) -> tuple[int, Path]:
        # A concurrent delete may remove the emptied directory between mkdir and the
        # temporary file's creation: make it again.
        for attempt in range(_MKDIR_ATTEMPTS):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            except FileNotFoundError:
                if attempt == _MKDIR_ATTEMPTS - 1:
                    raise
                continue
            return fd, Path(name)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def open_writer(self, key: str, *, durable: bool = True) -> Iterator[IO[bytes]]:
        path = self._path(key)
        try:
            fd, tmp = self._temp_file(path)
        except OSError as exc:
            _fail("write", key, exc)
        out = io.BufferedWriter(_FileSink(fd, key), WRITE_BUFFER)
        try:
            yield cast(IO[bytes], out)
            out.flush()
            try:
                if durable:
                    os.fsync(fd)
                out.close()
                tmp.replace(path)
                if durable:
                    fsync_dir(path.parent)
            except OSError as exc:
                _fail("write", key, exc)
        except BaseException:
            with contextlib.suppress(OSError, StorageError):
                out.close()
            tmp.unlink(missing_ok=True)
            raise

    def sync(self, keys: Iterable[str]) -> None:
        """Sync each blob's file, then each directory on the way to them once (new
        directories need their own entries synced too).

        The first fsync commits the file system's journal with the others' data in it
        (ext4, XFS), so the rest find little left to do.
        """
        directories: dict[Path, None] = {}
        for key in keys:
            path = self._path(key)
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                raise BlobNotFound(f"no blob {key!r}") from None
            except OSError as exc:
                _fail("sync", key, exc)
            for directory in path.relative_to(self.root).parents:
                directories[self.root / directory] = None
        for directory in directories:
            try:
                fsync_dir(directory)
            except OSError as exc:
                _fail("sync", str(directory.relative_to(self.root)), exc)

    @contextlib.contextmanager
    def open_reader(self, key: str, start: int = 0, end: int | None = None) -> Iterator[IO[bytes]]:
        path = self._path(key)
        try:
            file = path.open("rb", buffering=0)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFound(f"no blob {key!r}") from None
        except OSError as exc:
            _fail("read", key, exc)

        def read(size: int) -> bytes:
            try:
                return file.read(size)
            except OSError as exc:
                _fail("read", key, exc)

        try:
            offset, length = span(start, end, os.fstat(file.fileno()).st_size, key)
            file.seek(offset)
        except BaseException:
            file.close()
            raise
        reader = buffered(RangeReader(read, length, file.close, key))
        try:
            yield reader
        finally:
            reader.close()

    def _stat(self, key: str) -> os.stat_result | None:
        try:
            info = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            _fail("look up", key, exc)
        return info if stat.S_ISREG(info.st_mode) else None

    def size(self, key: str) -> int:
        info = self._stat(key)
        if info is None:
            raise BlobNotFound(f"no blob {key!r}")
        return info.st_size

    def exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            _fail("delete", key, exc)
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:  # not empty (or already gone): stop climbing
                break

    def remove_abandoned(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete temporary files a killed process left behind (``.<name>.<random>.tmp``
        untouched for ``older_than``: no live write pauses that long); how many."""
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                if not (name.startswith(".") and name.endswith(".tmp")):
                    continue
                path = Path(directory, name)
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue  # its write finished or failed meanwhile
                except OSError as exc:
                    _fail("delete", path.relative_to(self.root).as_posix(), exc)
        return removed

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        check_prefix(prefix)
        base = self.root / prefix.rpartition("/")[0]
        found: dict[str, BlobInfo] = {}
        for directory, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):
                    continue
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    info = path.stat()
                except FileNotFoundError:  # deleted while listing
                    continue
                if stat.S_ISREG(info.st_mode):
                    modified = datetime.fromtimestamp(info.st_mtime, UTC)
                    found[key] = BlobInfo(key, info.st_size, modified)
        for key in sorted(found):
            yield found[key]
