"""Fixtures for the format tests: the C2SP CCTV age test vectors.

The vectors are not kept in the repository. They are fetched once from the npm
registry (package ``cctv-age``, whose ``index.js`` embeds every vector as base64 after
a ``// ../testdata/<name>`` comment) into ``.test-cache/cctv-age/``, which git
ignores. A missing ``npm`` fails the run with a clear message; it is never a skip.
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
_VECTOR = re.compile(
    r"^// \.\./testdata/(?P<file>\S+)\s*\n"
    r"var (?P<var>\w+)_default = __toBinary\(\"(?P<data>[A-Za-z0-9+/=]*)\"\);",
    re.MULTILINE,
)


def _index_js() -> Path:
    index = CACHE / "package" / "index.js"
    if index.exists():
        return index
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is needed to fetch the CCTV age test vectors (scripts/test installs it)",
            pytrace=False,
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "pack", CCTV_PACKAGE, "--silent", "--pack-destination", str(CACHE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tarballs = sorted(CACHE.glob("cctv-age-*.tgz"))
    if proc.returncode != 0 or not tarballs:
        pytest.fail(f"npm pack {CCTV_PACKAGE} failed: {proc.stderr.strip()}", pytrace=False)
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(CACHE, filter="data")
    return index


@functools.cache
def load_cctv_vectors() -> dict[str, bytes]:
    """Vector file name → its bytes (a small text header, a blank line, the age file)."""
    text = _index_js().read_text("utf-8")
    found = {m["file"]: base64.b64decode(m["data"]) for m in _VECTOR.finditer(text)}
    if len(found) < 100:
        pytest.fail(f"{CCTV_PACKAGE} held {len(found)} vectors, expected over 100", pytrace=False)
    return found


@pytest.fixture(scope="session")
def cctv_vectors() -> dict[str, bytes]:
    return load_cctv_vectors()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrising needs the names at collection time; the download happens once.
    if "cctv_name" in metafunc.fixturenames:
        metafunc.parametrize("cctv_name", sorted(load_cctv_vectors()))
