"""The reference receiver over real HTTP, and the standard-tools check of
docs/receiving.md run exactly as written there."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exporter.delivery.receiver import Receiver, make_server
from exporter.keys import Keyring
from formats import age, webhooks
from tests.conftest import Builder

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def identity() -> age.X25519Identity:
    return age.X25519Identity.generate()


@pytest.fixture
def package(build: Builder, keyring: Keyring, identity: age.X25519Identity) -> bytes:
    """A real package, encrypted to the service's key as a delivery would be."""
    out = io.BytesIO()
    with build().encrypted_path.open("rb") as src:
        age.rewrap(src, out, keyring.vault_identities, [identity.recipient])
    return out.getvalue()


@pytest.fixture
def receiver_url(tmp_path: Path, keyring: Keyring,
                 identity: age.X25519Identity) -> Iterator[tuple[str, Path]]:
    directory = tmp_path / "in"
    server = make_server(Receiver([identity], [keyring.public_key], directory), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", directory
    server.shutdown()
    server.server_close()


def _headers(keyring: Keyring, body: bytes, msg_id: str = "delivery-1",
             timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhooks.sign(keyring.signing_key.seed, msg_id, stamp,
                                           lambda: [body]),
        "content-digest": webhooks.content_digest(hashlib.sha256(body).digest()),
    }


def test_a_good_delivery_is_kept_once_and_a_replay_is_not_processed(
    receiver_url: tuple[str, Path], keyring: Keyring, package: bytes,
) -> None:
    url, directory = receiver_url
    headers = _headers(keyring, package)
    first = httpx.post(url, content=package, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "received"
    stored = directory / "delivery-1.zip.age"
    assert stored.read_bytes() == package and (directory / "delivery-1.zip").exists()
    stamp = stored.stat().st_mtime_ns
    replay = httpx.post(url, content=package, headers=headers)
    assert replay.status_code == 200 and replay.json()["status"] == "already-received"
    assert stored.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in directory.glob("*.zip.age")) == ["delivery-1.zip.age"]


@pytest.mark.parametrize("change", ["tampered", "wrong-key", "old", "no-signature"])
def test_bad_deliveries_are_refused_and_nothing_is_kept(
    receiver_url: tuple[str, Path], keyring: Keyring, package: bytes, change: str,
) -> None:
    url, directory = receiver_url
    body = package
    headers = _headers(keyring, package)
    if change == "tampered":
        body = package[:-1] + bytes([package[-1] ^ 1])
    elif change == "wrong-key":
        other = Keyring(keyring.directory, keyring.vault_identities,
                        type(keyring.signing_key).generate())
        headers = _headers(other, package)
    elif change == "old":
        headers = _headers(keyring, package, timestamp=int(time.time()) - 3600)
    else:
        del headers["webhook-signature"]
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code in (400, 401), answer.text
    assert list(directory.glob("*.zip*")) == []
    # the id was not used up: the genuine delivery is still accepted
    good = httpx.post(url, content=package, headers=_headers(keyring, package))
    assert good.status_code == 200 and good.json()["status"] == "received"


def test_a_package_for_another_key_is_refused_with_422(
    receiver_url: tuple[str, Path], keyring: Keyring, build: Builder,
) -> None:
    url, directory = receiver_url
    body = build().encrypted_path.read_bytes()  # encrypted to the vault, not the service
    answer = httpx.post(url, content=body, headers=_headers(keyring, body, "d-2"))
    assert answer.status_code == 422
    assert list(directory.glob("*.zip*")) == []


def _documented_commands() -> str:
    text = (ROOT / "docs" / "receiving.md").read_text("utf-8")
    match = re.search(r"<!-- verify-commands -->\n```sh\n(.*?)```", text, re.S)
    assert match is not None, "docs/receiving.md lost its verify-commands block"
    return match.group(1)


@pytest.mark.slow
def test_a_service_verifies_with_standard_tools_as_documented(
    tmp_path: Path, keys_dir: Path, package: bytes, identity: age.X25519Identity,
) -> None:
    for tool in ("age", "minisign", "sha256sum", "unzip"):
        assert shutil.which(tool), f"{tool} is not installed (scripts/test installs it)"
    work = tmp_path / "service"
    work.mkdir()
    (work / "package.zip.age").write_bytes(package)
    (work / "service.key").write_text(f"{identity}\n")
    shutil.copy(keys_dir / "signing.pub", work / "signing.pub")
    script = "set -euo pipefail\n" + _documented_commands()
    done = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # and a package whose file was changed fails the same commands
    shutil.rmtree(work / "package")
    (work / "package.zip").unlink()
    broken = work / "broken"
    broken.mkdir()
    subprocess.run(["bash", "-c", "age -d -i service.key -o package.zip package.zip.age"],
                   cwd=work, check=True)
    subprocess.run(["unzip", "-q", "../package.zip"], cwd=broken, check=True)
    with (broken / "package.jsonld").open("ab") as file:
        file.write(b" ")
    checked = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=broken,
                             capture_output=True, text=True)
    assert checked.returncode != 0
