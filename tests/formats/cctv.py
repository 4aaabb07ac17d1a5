"""The C2SP CCTV age test vectors.

The vectors are not kept in this repository: they are fetched from the npm registry
(package ``cctv-age``, which embeds every vector) into ``.test-cache/`` on first use.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

CCTV_PACKAGE = "cctv-age@0.2.0"
CACHE = Path(__file__).resolve().parents[2] / ".test-cache" / "cctv-age"


def _fetch() -> Path:
    index = CACHE / "package" / "index.js"
    if index.exists():
        return index
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to fetch the CCTV age test vectors (scripts/test installs it)")
    CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "pack", CCTV_PACKAGE, "--silent", "--pack-destination", str(CACHE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"npm pack {CCTV_PACKAGE} failed: {proc.stderr.strip()}")
    tarball = next(CACHE.glob("cctv-age-*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(CACHE, filter="data")
    return index


def load_vectors() -> dict[str, bytes]:
    text = _fetch().read_text("utf-8")
    found = re.findall(r'var (\w+)_default = __toBinary\("([A-Za-z0-9+/=]*)"\)', text)
    return {name: base64.b64decode(data) for name, data in found}


@functools.cache
def vectors() -> dict[str, bytes]:
    found = load_vectors()
    assert len(found) > 100, "the CCTV package did not hold the expected vectors"
    return found
