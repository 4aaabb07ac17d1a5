"""age: round trips, rewrap, and bad input always a typed error."""

from __future__ import annotations

import contextlib
import io
import os
import random

import pytest

from formats import age
from formats.errors import (
    AgeError,
    AgeHeaderError,
    AgeHmacError,
    AgeNoMatchError,
    AgePayloadError,
    FormatError,
)

VAULT = age.X25519Identity.generate()
OTHER = age.X25519Identity.generate()


def encrypt(
    data: bytes, recipients: list[age.Recipient] | None = None, armor: bool = False
) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(data), out, recipients or [VAULT.recipient], armor=armor)
    return out.getvalue()


def decrypt(data: bytes, identities: list[age.Identity] | None = None) -> bytes:
    out = io.BytesIO()
    age.decrypt(io.BytesIO(data), out, identities or [VAULT])
    return out.getvalue()


def header_length(data: bytes) -> int:
    return data.index(b"\n", data.index(b"\n---") + 1) + 1


@pytest.mark.parametrize("size", [0, 1, 100, 65536, 65537, 200_000])
@pytest.mark.parametrize("armor", [False, True])
def test_round_trip(size: int, armor: bool) -> None:
    data = os.urandom(size)
    assert decrypt(encrypt(data, armor=armor)) == data


def test_streaming_writer_accepts_many_small_writes_and_zipfile() -> None:
    import zipfile

    raw = io.BytesIO()
    with age.encrypt_stream(raw, [VAULT.recipient]) as out, zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", b"x" * 300_000)
    plain = decrypt(raw.getvalue())
    assert zipfile.ZipFile(io.BytesIO(plain)).read("a.txt") == b"x" * 300_000


def test_failed_block_leaves_an_undecryptable_file() -> None:
    raw = io.BytesIO()
    with pytest.raises(RuntimeError), age.encrypt_stream(raw, [VAULT.recipient]) as out:
        out.write(b"partial data")
        raise RuntimeError("source failed")
    with pytest.raises(AgePayloadError):
        decrypt(raw.getvalue())


def test_several_recipients_and_identities() -> None:
    data = encrypt(b"hej", [VAULT.recipient, OTHER.recipient])
    assert decrypt(data, [OTHER]) == b"hej"
    assert decrypt(data, [age.X25519Identity.generate(), VAULT]) == b"hej"


def test_passphrase() -> None:
    data = encrypt(b"hej", [age.ScryptRecipient("rødgrød med fløde", work_factor=10)])
    assert decrypt(data, [age.ScryptIdentity("rødgrød med fløde")]) == b"hej"
    with pytest.raises(AgeNoMatchError):
        decrypt(data, [age.ScryptIdentity("forkert")])


def test_passphrase_must_be_alone_and_capped() -> None:
    with pytest.raises(ValueError, match="only recipient"):
        encrypt(b"x", [age.ScryptRecipient("a", 10), VAULT.recipient])
    with pytest.raises(ValueError, match="work factor"):
        age.ScryptRecipient("a", work_factor=21)
    data = encrypt(b"x", [age.ScryptRecipient("a", work_factor=12)])
    with pytest.raises(AgeHeaderError, match="above the limit"):
        decrypt(data, [age.ScryptIdentity("a", max_work_factor=11)])


def test_wrong_key() -> None:
    with pytest.raises(AgeNoMatchError):
        decrypt(encrypt(b"hej"), [OTHER])


def test_keys_round_trip_and_reject_garbage() -> None:
    assert age.X25519Identity.parse(str(VAULT)) == VAULT
    assert age.X25519Recipient.parse(str(VAULT.recipient)) == VAULT.recipient
    assert str(VAULT.recipient).startswith("age1")
    assert str(VAULT).startswith("AGE-SECRET-KEY-1")
    for bad in [
        "",
        "age1",
        "age1qqqq",
        str(VAULT.recipient).upper(),
        str(VAULT).lower()[:-1] + "x",
    ]:
        with pytest.raises(ValueError):
            age.X25519Recipient.parse(bad)
    with pytest.raises(ValueError):
        age.X25519Identity.parse(str(VAULT.recipient))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"age-encryption.org/v1\n",
        b"age-encryption.org/v2\n-> X\n\n--- x\n",
        os.urandom(1000),
        b"\n" * 5000,
        b"-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n",
    ],
)
def test_garbage_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(FormatError):
        decrypt(data)


def test_unknown_stanza_alone_is_no_match() -> None:
    data = encrypt(b"hej")
    head = data[: header_length(data)]
    forged = head.replace(b"-> X25519", b"-> unknown-plugin", 1)
    with pytest.raises((AgeNoMatchError, AgeHmacError)):
        decrypt(forged + data[len(head) :])


def test_truncation_anywhere_fails() -> None:
    data = encrypt(os.urandom(150_000))
    cuts = sorted(
        {*range(0, header_length(data) + 20, 7), *range(0, len(data), 4999), len(data) - 1}
    )
    for cut in cuts:
        with pytest.raises(AgeError):
            decrypt(data[:cut])


def test_flipped_bit_in_every_region_fails() -> None:
    data = encrypt(os.urandom(3 * 65536 + 100))
    header = header_length(data)
    mac_at = data.index(b"\n---") + 5
    positions = {
        "stanza share": data.index(b"X25519 ") + 8,
        "stanza body": data.index(b"\n", data.index(b"X25519 ")) + 3,
        "mac": mac_at + 3,
        "nonce": header + 4,
        "first chunk": header + 16 + 1000,
        "second chunk": header + 16 + 65552 + 10,
        "last chunk": len(data) - 20,
        "last tag": len(data) - 1,
    }
    for region, at in positions.items():
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        with pytest.raises(AgeError) as info:
            decrypt(bytes(flipped))
        if region == "mac":
            assert isinstance(info.value, AgeHeaderError | AgeHmacError)
        if region in ("first chunk", "second chunk", "last chunk", "last tag"):
            assert isinstance(info.value, AgePayloadError), region


def test_random_mutations_only_raise_format_errors() -> None:
    rng = random.Random(20261122)
    originals = [encrypt(os.urandom(n), armor=a) for n in (0, 70_000) for a in (False, True)]
    for _ in range(400):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            action = rng.randrange(3)
            at = rng.randrange(len(data))
            if action == 0:
                data[at] = rng.randrange(256)
            elif action == 1:
                del data[at : at + rng.randint(1, 50)]
            else:
                data[at:at] = os.urandom(rng.randint(1, 50))
        with contextlib.suppress(FormatError):
            decrypt(bytes(data))


def test_rewrap_keeps_the_payload_and_changes_who_can_read() -> None:
    data = os.urandom(200_000)
    stored = encrypt(data)
    new = io.BytesIO()
    age.rewrap(io.BytesIO(stored), new, [VAULT], [OTHER.recipient])
    rewrapped = new.getvalue()
    assert rewrapped[header_length(rewrapped) :] == stored[header_length(stored) :]
    assert decrypt(rewrapped, [OTHER]) == data
    with pytest.raises(AgeNoMatchError):
        decrypt(rewrapped, [VAULT])


def test_rewrap_to_a_passphrase() -> None:
    stored = encrypt(b"pakke")
    new = io.BytesIO()
    age.rewrap(io.BytesIO(stored), new, [VAULT], [age.ScryptRecipient("kodeord", 10)])
    assert decrypt(new.getvalue(), [age.ScryptIdentity("kodeord")]) == b"pakke"


def test_rewrap_needs_a_vault_identity() -> None:
    with pytest.raises(AgeNoMatchError):
        age.rewrap(io.BytesIO(encrypt(b"x")), io.BytesIO(), [OTHER], [OTHER.recipient])


@pytest.mark.slow
def test_memory_stays_flat_while_streaming() -> None:
    import psutil

    process = psutil.Process()

    class Zeros(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[no-untyped-def]
            return len(data)

    before = process.memory_info().rss
    age.encrypt(io.BufferedReader(Zeros(200 * 1024 * 1024)), Sink(), [VAULT.recipient])
    assert process.memory_info().rss - before < 20 * 1024 * 1024
