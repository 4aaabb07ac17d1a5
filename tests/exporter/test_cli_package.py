"""`egnedata demo` and `egnedata export` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exporter.cli import _register, app
from exporter.profile import demo_profile_path

_register()
runner = CliRunner()


def test_demo_writes_zip_and_encrypted_package_and_says_how_to_open(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    zips = list(out.glob("*.zip"))
    encrypted = list(out.glob("*.zip.age"))
    assert len(zips) == 1 and len(encrypted) == 1
    assert "index.html" in zipfile.ZipFile(zips[0]).namelist()
    assert encrypted[0].read_bytes().startswith(b"age-encryption.org/v1\n")
    assert "egnedata decrypt" in result.output and "age -d" in result.output
    assert "egnedata verify" in result.output
    assert not list(out.glob(".*.part")), "no temporary files left behind"


def test_demo_refuses_a_real_cpr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--cpr", "010190-1234"])
    assert result.exit_code == 2
    assert "synthetic" in result.output


def test_export_without_keys_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            "--profile",
            str(demo_profile_path()),
            "--cpr",
            "710190-1234",
            "--out",
            str(out),
            "--keys",
            str(tmp_path / "no-keys"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "keys generate" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_export_writes_only_encrypted_output_by_default(tmp_path: Path, keys_dir: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            "--profile",
            str(demo_profile_path()),
            "--cpr",
            "710190-1234",
            "--out",
            str(out),
            "--keys",
            str(keys_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.suffixes[-2:] for p in out.iterdir()] == [[".zip", ".age"]]


@pytest.mark.parametrize("cpr", ["12345", "310290-1234", "abcdef-ghij"])
def test_export_bad_cpr_is_a_clear_error(tmp_path: Path, keys_dir: Path, cpr: str) -> None:
    result = runner.invoke(
        app,
        [
            "export",
            "--profile",
            str(demo_profile_path()),
            "--cpr",
            cpr,
            "--out",
            str(tmp_path),
            "--keys",
            str(keys_dir),
        ],
    )
    assert result.exit_code == 2
    assert "CPR" in result.output and "Traceback" not in result.output


def test_export_bad_profile_names_the_file(tmp_path: Path, keys_dir: Path) -> None:
    profile = tmp_path / "kommune.toml"
    profile.write_text("[municipality]\ncode = 'x'\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "export",
            "--profile",
            str(profile),
            "--cpr",
            "710190-1234",
            "--out",
            str(tmp_path / "out"),
            "--keys",
            str(keys_dir),
        ],
    )
    assert result.exit_code == 2
    assert "kommune.toml" in result.output and "municipality.code" in result.output


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and "export" in proc.stdout
