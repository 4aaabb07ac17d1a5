"""Interoperability with the reference `age` command-line tool, both ways.

age 1.1.1 (Debian's) reads a passphrase only from the terminal (there is no
AGE_PASSPHRASE), so the passphrase tests give it a pseudo-terminal. A missing `age`
fails these tests; it never skips them.
"""

from __future__ import annotations

import fcntl
import io
import os
import select
import shutil
import subprocess
import termios
import time
from pathlib import Path

import pytest

from formats import age

pytestmark = pytest.mark.slow

SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536, 5 * 1024 * 1024 + 7]


@pytest.fixture(scope="module")
def age_tool() -> str:
    path = shutil.which("age")
    if path is None:
        pytest.fail("the age tool is missing: scripts/test installs Debian's age package")
    return path


def _data(size: int) -> bytes:
    return (os.urandom(4096) * (size // 4096 + 1))[:size]


def _with_tty(args: list[str], passphrase: str, prompts: int) -> bytes:
    """Run `age` with a terminal (it reads passphrases only from /dev/tty)."""
    master, slave = os.openpty()

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        args, stdin=slave, stdout=subprocess.PIPE, stderr=slave, preexec_fn=controlling_tty
    )
    os.close(slave)
    answered, seen, deadline = 0, b"", time.monotonic() + 60
    while answered < prompts and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                seen += os.read(master, 1024)
            except OSError:
                break
            if seen.count(b"assphrase") > answered:
                os.write(master, passphrase.encode() + b"\n")
                answered += 1
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, seen.decode(errors="replace")
    return out


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True])
def test_age_decrypts_ours_x25519(age_tool: str, tmp_path: Path, size: int, armor: bool) -> None:
    identity = age.X25519Identity.generate()
    (tmp_path / "key.txt").write_text(f"{identity}\n")
    data = _data(size)
    encrypted = io.BytesIO()
    age.encrypt(io.BytesIO(data), encrypted, [identity.recipient], armor=armor)
    (tmp_path / "f.age").write_bytes(encrypted.getvalue())
    proc = subprocess.run(
        [age_tool, "-d", "-i", str(tmp_path / "key.txt"), str(tmp_path / "f.age")],
        capture_output=True,
        check=True,
    )
    assert proc.stdout == data


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True])
def test_we_decrypt_age_x25519(age_tool: str, tmp_path: Path, size: int, armor: bool) -> None:
    identity = age.X25519Identity.generate()
    data = _data(size)
    (tmp_path / "plain").write_bytes(data)
    args = [age_tool, "-r", str(identity.recipient), "-o", str(tmp_path / "f.age")]
    subprocess.run([*args, *(["-a"] if armor else []), str(tmp_path / "plain")], check=True)
    out = io.BytesIO()
    with (tmp_path / "f.age").open("rb") as src:
        age.decrypt(src, out, [identity])
    assert out.getvalue() == data


def test_age_decrypts_ours_passphrase(age_tool: str, tmp_path: Path) -> None:
    data = _data(200_000)
    encrypted = io.BytesIO()
    age.encrypt(io.BytesIO(data), encrypted, [age.ScryptRecipient("korrekt hest batteri", 10)])
    (tmp_path / "f.age").write_bytes(encrypted.getvalue())
    out = _with_tty([age_tool, "-d", str(tmp_path / "f.age")], "korrekt hest batteri", 1)
    assert out == data


def test_we_decrypt_age_passphrase(age_tool: str, tmp_path: Path) -> None:
    data = _data(200_000)
    (tmp_path / "plain").write_bytes(data)
    _with_tty(
        [age_tool, "-p", "-o", str(tmp_path / "f.age"), str(tmp_path / "plain")],
        "korrekt hest batteri",
        2,
    )
    out = io.BytesIO()
    with (tmp_path / "f.age").open("rb") as src:
        age.decrypt(src, out, [age.ScryptIdentity("korrekt hest batteri")])
    assert out.getvalue() == data


def test_age_decrypts_a_rewrapped_file(age_tool: str, tmp_path: Path) -> None:
    vault, citizen = age.X25519Identity.generate(), age.X25519Identity.generate()
    data = _data(300_000)
    stored = io.BytesIO()
    age.encrypt(io.BytesIO(data), stored, [vault.recipient])
    delivered = io.BytesIO()
    age.rewrap(io.BytesIO(stored.getvalue()), delivered, [vault], [citizen.recipient])
    (tmp_path / "f.age").write_bytes(delivered.getvalue())
    (tmp_path / "key.txt").write_text(f"{citizen}\n")
    proc = subprocess.run(
        [age_tool, "-d", "-i", str(tmp_path / "key.txt"), str(tmp_path / "f.age")],
        capture_output=True,
        check=True,
    )
    assert proc.stdout == data
