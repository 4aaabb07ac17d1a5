"""BlobStage: the pipeline's stage in a blob store, always encrypted to the vault key."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from exporter.cli.package import DEMO_CPR
from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.errors import KeyringError
from exporter.keys import Keyring, generate_keys, rotate_vault
from exporter.pipeline import build_package
from exporter.pipeline.assemble import assemble
from exporter.pipeline.collect import collect_source
from exporter.pipeline.stage import Stage
from exporter.profile import Profile
from exporter.signing import KeySigner
from exporter.storage import BlobNotFound, BlobStage, BlobStore, LocalBlobStore
from formats.errors import AgeNoMatchError
from tests.conftest import FIXED_ID, FIXED_TIME

MARKER = b"PLAINTEXT-MARKER-0123456789"
PREFIX = "stage/00000000-0000-4000-8000-00000000000a/"


def test_is_a_stage(store: BlobStore, keyring: Keyring) -> None:
    stage: Stage = BlobStage(store, PREFIX, keyring)
    assert isinstance(stage, BlobStage)


def test_round_trip_stores_only_age_files(store: BlobStore, keyring: Keyring) -> None:
    stage = BlobStage(store, PREFIX, keyring)
    lines = b"".join(b'{"n": %d, "m": "%s"}\n' % (i, MARKER) for i in range(20_000))
    with stage.writer("sager.staged") as out:
        out.write(lines)
    with stage.reader("sager.staged") as staged:
        assert staged.read() == lines
    (info,) = store.list()
    assert info.key == f"{PREFIX}sager.staged.age"
    with store.open_reader(info.key) as raw:
        stored = raw.read()
    assert stored.startswith(b"age-encryption.org/v1\n")
    assert MARKER not in stored  # a long marker: a short one can occur in random bytes


def test_another_keyring_cannot_read(
    store: BlobStore, keyring: Keyring, tmp_path: Path
) -> None:
    generate_keys(tmp_path / "other")
    other = Keyring.load(tmp_path / "other")
    with BlobStage(store, PREFIX, keyring).writer("sager.staged") as out:
        out.write(MARKER)
    with pytest.raises(AgeNoMatchError), BlobStage(store, PREFIX, other).reader("sager.staged"):
        pass


def test_old_vault_identities_still_read(store: BlobStore, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    generate_keys(keys)
    with BlobStage(store, PREFIX, Keyring.load(keys)).writer("sager.staged") as out:
        out.write(MARKER)
    rotate_vault(keys)
    with BlobStage(store, PREFIX, Keyring.load(keys)).reader("sager.staged") as staged:
        assert staged.read() == MARKER


def test_no_vault_identity_fails_closed(store: BlobStore, keyring: Keyring) -> None:
    empty = dataclasses.replace(keyring, vault_identities=())
    with pytest.raises(KeyringError, match="no vault identity"):
        BlobStage(store, PREFIX, empty)
    assert list(store.list()) == []


def test_a_failed_write_stores_nothing(store: BlobStore, keyring: Keyring) -> None:
    stage = BlobStage(store, PREFIX, keyring)
    with pytest.raises(RuntimeError), stage.writer("sager.staged") as out:
        out.write(MARKER * 1000)
        raise RuntimeError("the source failed")
    assert list(store.list()) == []
    with pytest.raises(BlobNotFound), stage.reader("sager.staged"):
        pass


def test_discard_and_clear(store: BlobStore, keyring: Keyring) -> None:
    stage = BlobStage(store, PREFIX, keyring)
    neighbour = BlobStage(store, "stage/00000000-0000-4000-8000-00000000000b", keyring)
    for name in ("a.staged", "a.csv", "b.staged"):
        with stage.writer(name) as out:
            out.write(b"x")
    with neighbour.writer("a.staged") as out:
        out.write(b"y")
    stage.discard("a.csv")
    stage.discard("a.csv")
    assert [i.key.removeprefix(PREFIX) for i in store.list(PREFIX)] == [
        "a.staged.age",
        "b.staged.age",
    ]
    stage.clear()
    assert [i.key for i in store.list()] == [
        "stage/00000000-0000-4000-8000-00000000000b/a.staged.age"
    ]


@pytest.mark.parametrize(
    "name", ["../x.staged", "a.txt", "a.jsonld", "a.summary", "A.staged", "a.staged\n", ""]
)
def test_names_follow_the_pipeline_rules(store: BlobStore, keyring: Keyring, name: str) -> None:
    stage = BlobStage(store, PREFIX, keyring)
    with pytest.raises(ValueError), stage.writer(name):
        pass
    assert list(store.list()) == []


@pytest.mark.parametrize("prefix", ["", "/abs/", "../up/"])
def test_a_stage_needs_a_prefix_of_its_own(
    store: BlobStore, keyring: Keyring, prefix: str
) -> None:
    with pytest.raises(ValueError):
        BlobStage(store, prefix, keyring)


def test_collect_here_assemble_there(
    store: BlobStore, keyring: Keyring, demo_profile: Profile, tmp_path: Path
) -> None:
    """Collect jobs and the assemble job each with their own stage object over the same
    store give the same package, byte for byte, as the one-process build."""
    subject = Subject(Cpr.parse(DEMO_CPR))
    signer = KeySigner(keyring.signing_key)
    results = []
    for source in demo_profile.sources:
        collector = BlobStage(store, PREFIX, keyring)
        results.extend(collect_source(source, subject, demo_profile.municipality.code, collector))
    assert results and all(r.complete for r in results)
    assembler = BlobStage(store, PREFIX, keyring)
    staged = io.BytesIO()
    assemble(
        [staged], demo_profile, results, assembler, signer,
        package_id=FIXED_ID, generated_at=FIXED_TIME,
    )
    assembler.clear()
    assert list(store.list()) == []

    direct = io.BytesIO()
    build_package(
        demo_profile, subject, [direct], signer,
        package_id=FIXED_ID, generated_at=FIXED_TIME, stage_dir=tmp_path,
    )
    assert staged.getvalue() == direct.getvalue()


def test_local_store_paths(tmp_path: Path, keyring: Keyring) -> None:
    stage = BlobStage(LocalBlobStore(tmp_path), "stage/r1", keyring)
    assert stage.prefix == "stage/r1/"
    with stage.writer("sager.csv") as out:
        out.write(b"x")
    assert (tmp_path / "stage" / "r1" / "sager.csv.age").read_bytes().startswith(b"age-")


def test_sync_makes_what_was_written_durable_once(tmp_path: Path, keyring: Keyring) -> None:
    synced: list[list[str]] = []

    class Recording(LocalBlobStore):
        def sync(self, keys: object) -> None:
            synced.append(list(keys))  # type: ignore[call-overload]
            super().sync(synced[-1])

    stage = BlobStage(Recording(tmp_path), PREFIX, keyring)
    for name in ("a.staged", "a.csv", "b.staged"):
        with stage.writer(name) as out:
            out.write(b"x")
    stage.discard("b.staged")
    with pytest.raises(RuntimeError), stage.writer("c.staged") as out:
        raise RuntimeError("a failed write is not synced")
    stage.sync()
    stage.sync()
    assert synced == [[f"{PREFIX}a.staged.age", f"{PREFIX}a.csv.age"], []]
