"""A non-editable install works: templates, schemas, profiles and reference data ship."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_has_its_data_and_runs_the_demo(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("egnedata-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "templates/index.html.j2",
        "templates/texts.json",
        "templates/_style.css",
        "formats/vocab/context.jsonld",
        "formats/vocab/schemas/Case.schema.json",
        "exporter/profiles/demo.toml",
        "exporter/reference/kommuner.json",
        "exporter/reference/kle.json",
        "templates/web/layout.html.j2",
        "templates/web/portal/overview.html.j2",
        "templates/web/texts/da.toml",
        "templates/web/texts/en.toml",
        "templates/web/static/egnedata.css",
        "templates/web/static/egnedata.js",
        "exporter/devlogin/provider.mjs",
        "exporter/devlogin/package.json",
        "exporter/devlogin/package-lock.json",
    ):
        assert needed in names, needed
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", "import exporter; print(exporter.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith(str(site))
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "demo", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "out").glob("*.zip.age"))


@pytest.mark.slow
def test_the_demo_script_passes_its_options_on(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--out", str(tmp_path / "out"), "--cases", "2"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((tmp_path / "out").glob("*.zip.age"))
