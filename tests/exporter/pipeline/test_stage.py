"""The staged dataset: one encrypted stream per dataset, its CSV moved to a stream of
its own only when large."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest

from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.pipeline import build_package, stage
from exporter.pipeline.stage import (
    EphemeralStage,
    MalformedStage,
    StagedReader,
    StagedWriter,
    read_records,
)
from exporter.profile import Profile
from exporter.signing import KeySigner
from formats.container import DeflatedEntry, EntryDeflater
from tests.conftest import FIXED_ID, FIXED_TIME, demo_profile_with


def _stage_something(target: EphemeralStage, csv: bytes, *, held_limit: int,
                     jsonld: bytes = b'{"@graph": [\n{"id": 1}\n]}\n',
                     ) -> tuple[DeflatedEntry, DeflatedEntry]:
    with StagedWriter(target, "sager", held_limit=held_limit) as staged:
        jsonld_entry, csv_entry = EntryDeflater(staged.jsonld), EntryDeflater(staged.csv)
        for i in range(0, max(len(jsonld), len(csv)), 1000):  # interleaved, as collected
            jsonld_entry.write(jsonld[i:i + 1000])
            csv_entry.write(csv[i:i + 1000])
        entries = jsonld_entry.finish(), csv_entry.finish()
        staged.finish(*entries, b'{"count": 1}')
    return entries


def _read_back(target: EphemeralStage) -> tuple[list[tuple[bytes, DeflatedEntry]], bytes]:
    parts = []
    with target.reader("sager.staged") as stream:
        reader = StagedReader(stream, "sager")
        for spilled in (None, lambda: target.reader("sager.csv")):
            with reader.part(spilled) as part:
                deflated = b"".join(part.chunks)
                parts.append((zlib.decompress(deflated, -15), part.entry()))
        return parts, reader.summary()


def _names(target: EphemeralStage) -> list[str]:
    return sorted(p.name for p in target._dir.iterdir())


@pytest.mark.parametrize(("size", "spills"), [(0, False), (10_000, False), (400_000, True)])
def test_round_trip_held_or_spilled(tmp_path: Path, size: int, spills: bool) -> None:
    csv = random.Random(size).randbytes(size)  # incompressible: spills past the limit
    with EphemeralStage(tmp_path) as target:
        jsonld_entry, csv_entry = _stage_something(target, csv, held_limit=100_000)
        assert _names(target) == (["sager.csv.age", "sager.staged.age"] if spills
                                  else ["sager.staged.age"])
        [(jsonld, read_jsonld), (csv_back, read_csv)], summary = _read_back(target)
    assert (read_jsonld, read_csv) == (jsonld_entry, csv_entry)
    assert csv_back == csv and jsonld.startswith(b'{"@graph"')
    assert summary == b'{"count": 1}'


def test_a_failure_while_staging_leaves_nothing(tmp_path: Path) -> None:
    with EphemeralStage(tmp_path) as target:
        with pytest.raises(RuntimeError), StagedWriter(target, "sager", held_limit=10) as staged:
            staged.jsonld.write(b"x" * 100)
            staged.csv.write(b"y" * 100)  # spilled
            raise RuntimeError("the source failed")
        assert _names(target) == []


def _raw_stream(target: EphemeralStage, data: bytes) -> None:
    with target.writer("sager.staged") as out:
        out.write(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "ends early"),
        (struct.pack(">I", 10) + b"short", "ends early"),
        (struct.pack(">I", 0xFFFFFF00), "frame"),
        (struct.pack(">I", 0xFFFFFFFF) + bytes(52), "cannot have a stream of its own"),
    ],
)
def test_a_malformed_stage_is_refused_clearly(tmp_path: Path, data: bytes, message: str) -> None:
    with EphemeralStage(tmp_path) as target:
        _raw_stream(target, data)
        with pytest.raises(MalformedStage, match=message):
            list(read_records(target, "sager"))


def test_records_read_back(tmp_path: Path) -> None:
    document = b'{"@context": "x", "@graph": [\n{"id": "a"},\n{"id": "b"}\n]}\n'
    with EphemeralStage(tmp_path) as target:
        _stage_something(target, b"", held_limit=100, jsonld=document)
        assert list(read_records(target, "sager")) == [{"id": "a"}, {"id": "b"}]


def _package(profile: Profile, keyring_signer: KeySigner, tmp_path: Path) -> bytes:
    out = io.BytesIO()
    build_package(profile, Subject(Cpr.parse("6101751234")), [out], keyring_signer,
                  package_id=FIXED_ID, generated_at=FIXED_TIME, stage_dir=tmp_path)
    return out.getvalue()


def test_held_and_spilled_csv_give_the_same_package(
    tmp_path: Path, keyring: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exporter.keys import Keyring

    assert isinstance(keyring, Keyring)
    signer = KeySigner(keyring.signing_key)
    profile = demo_profile_with(cases=300)
    held = _package(profile, signer, tmp_path)
    monkeypatch.setattr(stage, "HELD_LIMIT", 64)
    spilled = _package(profile, signer, tmp_path)
    assert held == spilled
