"""age: round trips, streaming, rewrap, and bad input always a typed error."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import zipfile
from typing import Any

import pytest

from formats import age
from formats.errors import (
    AgeError,
    AgeHeaderError,
    AgeHmacError,
    AgeNoMatchError,
    AgePayloadError,
    ArmorError,
    FormatError,
)

VAULT = age.X25519Identity.generate()
OTHER = age.X25519Identity.generate()
CHUNK = 64 * 1024
SEALED = CHUNK + 16


def encrypt(data: bytes, recipients: list[Any] | None = None, armor: bool = False) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(data), out, recipients or [VAULT.recipient], armor=armor)
    return out.getvalue()


def decrypt(data: bytes, identities: list[Any] | None = None) -> bytes:
    out = io.BytesIO()
    age.decrypt(io.BytesIO(data), out, identities or [VAULT])
    return out.getvalue()


def header_length(data: bytes) -> int:
    return data.index(b"\n", data.index(b"\n---") + 1) + 1


def test_public_surface() -> None:
    assert sorted(age.__all__) == sorted(
        name for name in dir(age) if not name.startswith("_") and name != "annotations"
    )


# -- round trips -------------------------------------------------------------------------

SIZES = [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 17 * CHUNK + 3]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True])
def test_round_trip(size: int, armor: bool) -> None:
    data = os.urandom(size)
    encrypted = encrypt(data, armor=armor)
    assert encrypted.startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1\n")
    assert decrypt(encrypted) == data
    assert age.decrypt_stream(io.BytesIO(encrypted), [VAULT]).read() == data


@pytest.mark.parametrize("size", [0, CHUNK, 17 * CHUNK + 3])
def test_round_trip_on_one_cpu(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # With one CPU the whole-file functions work on the caller's thread alone.
    from formats._age import api

    monkeypatch.setattr(api, "_several_cpus", lambda: False)
    data = os.urandom(size)
    encrypted = encrypt(data)
    assert decrypt(encrypted) == data
    monkeypatch.undo()
    assert decrypt(encrypted) == data and decrypt(encrypt(data)) == data


def test_payload_layout() -> None:
    """Full chunks, then a short final one; an exact multiple ends in a full chunk."""
    for size, payload in [(0, 16), (5, 21), (CHUNK, SEALED), (2 * CHUNK, 2 * SEALED)]:
        data = encrypt(bytes(size))
        assert len(data) - header_length(data) - 16 == payload


@pytest.mark.parametrize("armor", [False, True])
def test_stream_writer_with_odd_writes(armor: bool) -> None:
    data = os.urandom(5 * CHUNK + 123)
    raw = io.BytesIO()
    with age.encrypt_stream(raw, [VAULT.recipient], armor=armor) as out:
        assert out.writable() and not out.seekable()
        position, step = 0, 1
        while position < len(data):
            out.write(memoryview(data)[position : position + step])
            position, step = position + step, step * 3 + 1
        assert out.tell() == len(data)
    assert decrypt(raw.getvalue()) == data


def test_stream_writer_is_a_zipfile_target() -> None:
    raw = io.BytesIO()
    with age.encrypt_stream(raw, [VAULT.recipient]) as out, zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", b"x" * 300_000)
        archive.writestr("b.txt", b"hej")
    plain = zipfile.ZipFile(io.BytesIO(decrypt(raw.getvalue())))
    assert plain.read("a.txt") == b"x" * 300_000
    assert plain.infolist()[0].flag_bits & 0x08  # data descriptors: it was not seekable


def test_close_finishes_the_file_and_later_writes_fail() -> None:
    raw = io.BytesIO()
    with age.encrypt_stream(raw, [VAULT.recipient]) as out:
        out.write(b"done")
        out.close()
        finished = raw.getvalue()
        with pytest.raises(ValueError):
            out.write(b"more")
    assert raw.getvalue() == finished and decrypt(finished) == b"done"


def test_failed_block_leaves_an_undecryptable_file() -> None:
    raw = io.BytesIO()
    with pytest.raises(RuntimeError), age.encrypt_stream(raw, [VAULT.recipient]) as out:
        out.write(os.urandom(3 * CHUNK))
        raise RuntimeError("the source failed")
    with pytest.raises(AgePayloadError):
        decrypt(raw.getvalue())


def test_streams_open_at_once_never_share_a_buffer() -> None:
    # Finished streams hand their block buffers on to the next ones: streams open at
    # the same time, reading and writing, must each have their own.
    payloads = [bytes([n]) * (3 * 8 * CHUNK + n) for n in range(1, 4)]
    for _ in range(2):
        sinks = [io.BytesIO() for _ in payloads]
        with contextlib.ExitStack() as stack:
            writers = [stack.enter_context(age.encrypt_stream(s, [VAULT.recipient])) for s in sinks]
            for offset in range(0, len(payloads[-1]), 100_000):
                for writer, data in zip(writers, payloads, strict=True):
                    writer.write(data[offset : offset + 100_000])
        readers = [age.decrypt_stream(io.BytesIO(s.getvalue()), [VAULT]) for s in sinks]
        got = [b"" for _ in readers]
        while any(len(g) < len(p) for g, p in zip(got, payloads, strict=True)):
            got = [g + r.read(70_000) for g, r in zip(got, readers, strict=True)]
        assert got == payloads
        for reader in readers:
            reader.close()


def test_several_recipients_and_identities() -> None:
    data = encrypt(b"hej", [VAULT.recipient, OTHER.recipient])
    assert data.count(b"\n-> X25519 ") == 2
    assert decrypt(data, [OTHER]) == b"hej"
    assert decrypt(data, [age.X25519Identity.generate(), VAULT]) == b"hej"


def test_wrong_key_is_no_match() -> None:
    with pytest.raises(AgeNoMatchError):
        decrypt(encrypt(b"hej"), [OTHER])
    with pytest.raises(AgeNoMatchError):
        decrypt(encrypt(b"hej"), [age.ScryptIdentity("kodeord")])


class _FullDisk(io.RawIOBase):
    def __init__(self, room: int) -> None:
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise OSError(28, "No space left on device")
        return len(data)


def test_write_errors_surface_and_no_writer_thread_is_left() -> None:
    import threading

    threads = threading.active_count()
    data = os.urandom(40 * CHUNK)
    with pytest.raises(OSError, match="No space"):
        age.encrypt(io.BytesIO(data), _FullDisk(10 * CHUNK), [VAULT.recipient])
    with pytest.raises(OSError, match="No space"):
        age.decrypt(io.BytesIO(encrypt(data)), _FullDisk(10 * CHUNK), [VAULT])
    damaged = bytearray(encrypt(data))
    damaged[-100] ^= 1
    with pytest.raises(AgePayloadError):
        age.decrypt(io.BytesIO(bytes(damaged)), io.BytesIO(), [VAULT])
    assert threading.active_count() == threads


# -- passphrases -------------------------------------------------------------------------


def test_passphrase() -> None:
    data = encrypt(b"hej", [age.ScryptRecipient("rødgrød med fløde", work_factor=10)])
    assert b"\n-> scrypt " in data and data.split(b"\n")[1].endswith(b" 10")
    assert decrypt(data, [age.ScryptIdentity("rødgrød med fløde".encode())]) == b"hej"
    with pytest.raises(AgeNoMatchError):
        decrypt(data, [age.ScryptIdentity("forkert")])


def test_default_work_factor_is_18() -> None:
    assert age.ScryptRecipient("x").work_factor == 18 == age.DEFAULT_WORK_FACTOR


def test_passphrase_must_be_alone() -> None:
    with pytest.raises(ValueError, match="only recipient"):
        encrypt(b"x", [age.ScryptRecipient("a", 10), VAULT.recipient])
    with pytest.raises(ValueError, match="only recipient"):
        encrypt(b"x", [age.ScryptRecipient("a", 10), age.ScryptRecipient("b", 10)])


def test_work_factor_limits() -> None:
    with pytest.raises(ValueError, match="work factor"):
        age.ScryptRecipient("a", work_factor=21)
    with pytest.raises(ValueError, match="work factor"):
        age.ScryptRecipient("a", work_factor=0)
    with pytest.raises(ValueError, match="empty"):
        age.ScryptRecipient("")
    data = encrypt(b"x", [age.ScryptRecipient("a", work_factor=12)])
    with pytest.raises(AgeHeaderError, match="above the limit"):
        decrypt(data, [age.ScryptIdentity("a", max_work_factor=11)])
    assert decrypt(data, [age.ScryptIdentity("a", max_work_factor=12)]) == b"x"


def test_huge_work_factor_is_refused_without_computing_it() -> None:
    data = encrypt(b"x", [age.ScryptRecipient("a", work_factor=10)])
    for factor in (b"30", b"9" * 5000):
        forged = data.replace(b" 10\n", b" " + factor + b"\n", 1)
        with pytest.raises(AgeHeaderError, match="above the limit"):
            decrypt(forged, [age.ScryptIdentity("a")])


# -- keys --------------------------------------------------------------------------------


def test_keys_round_trip() -> None:
    assert age.X25519Identity.parse(str(VAULT)) == VAULT
    assert age.X25519Recipient.parse(str(VAULT.recipient)) == VAULT.recipient
    assert str(VAULT.recipient).startswith("age1") and len(str(VAULT.recipient)) == 62
    assert str(VAULT).startswith("AGE-SECRET-KEY-1")
    assert str(VAULT) not in repr(VAULT)


def test_known_key_pair() -> None:
    # The X25519 example of the age spec ("The X25519 recipient type").
    identity = age.X25519Identity.parse(
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    )
    assert str(identity.recipient) == (
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    )


@pytest.mark.parametrize(
    "text",
    ["", "age1", "age1qqqq", "AGE1" + "Q" * 58, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"],
)
def test_bad_recipients(text: str) -> None:
    with pytest.raises(ValueError):
        age.X25519Recipient.parse(text)


def test_bad_identities() -> None:
    text = str(VAULT)
    for bad in [text.lower(), text[:-1] + ("Q" if text[-1] != "Q" else "P"), text[:-5]]:
        with pytest.raises(ValueError):
            age.X25519Identity.parse(bad)
    with pytest.raises(ValueError):
        age.X25519Identity.parse(str(VAULT.recipient))


def test_low_order_recipient_is_refused() -> None:
    with pytest.raises(ValueError, match="low-order"):
        encrypt(b"x", [age.X25519Recipient(bytes(32))])


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", AgeHeaderError),
        (b"garbage", AgeHeaderError),
        (b"age-encryption.org/v1\n", AgeHeaderError),
        (b"age-encryption.org/v2\n-> X\n\n--- x\n", AgeHeaderError),
        (b"\n" * 5000, AgeHeaderError),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n", ArmorError),
        (b"junk\n-----BEGIN AGE ENCRYPTED FILE-----\n", ArmorError),
        (b"age-encryption.org/v1\n-> " + b"a" * 100_000, AgeHeaderError),
        (b"age-encryption.org/v1\n" + b"-> a\nAAAA\n" * 110_000, AgeHeaderError),
    ],
)
def test_garbage_is_a_typed_error(data: bytes, error: type[FormatError]) -> None:
    with pytest.raises(error):
        decrypt(data)


def test_random_bytes_are_typed_errors() -> None:
    rng = random.Random(7)
    for _ in range(200):
        with pytest.raises(FormatError):
            decrypt(rng.randbytes(rng.randrange(2000)))


def test_unknown_stanza_is_ignored_but_authenticated() -> None:
    data = encrypt(b"hej")
    head = data[: header_length(data)]
    extra = head.replace(b"\n---", b"\n-> example.com/unknown arg\nAAAA\n---", 1)
    with pytest.raises(AgeHmacError):  # a stanza added after the fact breaks the MAC
        decrypt(extra + data[len(head) :])
    renamed = head.replace(b"-> X25519", b"-> unknown-plugin", 1)
    with pytest.raises(AgeNoMatchError):  # nothing left that this identity can open
        decrypt(renamed + data[len(head) :])


def test_truncation_anywhere_fails() -> None:
    data = encrypt(os.urandom(3 * CHUNK + 100))
    head = header_length(data)
    cuts = {*range(head + 40), *range(head, len(data), 997), len(data) - 1}
    cuts |= {head + 16 + SEALED * k + d for k in range(4) for d in (-1, 0, 1)}
    for cut in sorted(c for c in cuts if c < len(data)):
        with pytest.raises(AgeError):
            decrypt(data[:cut])


def test_trailing_data_fails() -> None:
    for size in (100, CHUNK, 2 * CHUNK):
        data = encrypt(os.urandom(size))
        for extra in (b"\x00", b"x" * 16, os.urandom(SEALED)):
            with pytest.raises(AgePayloadError):
                decrypt(data + extra)


def test_flipped_bit_in_every_region_fails() -> None:
    data = encrypt(os.urandom(3 * CHUNK + 100))
    head = header_length(data)
    share_at = data.index(b"X25519 ") + 8
    regions = {
        "version line": (3, AgeHeaderError),
        "stanza share": (share_at, AgeHeaderError | AgeHmacError | AgeNoMatchError),
        "stanza body": (data.index(b"\n", share_at) + 3, AgeHeaderError | AgeNoMatchError),
        "mac": (data.index(b"\n---") + 8, AgeHeaderError | AgeHmacError),
        "nonce": (head + 4, AgePayloadError),
        "first chunk": (head + 16 + 1000, AgePayloadError),
        "first tag": (head + 16 + SEALED - 1, AgePayloadError),
        "second chunk": (head + 16 + SEALED + 10, AgePayloadError),
        "last chunk": (len(data) - 50, AgePayloadError),
        "last tag": (len(data) - 1, AgePayloadError),
    }
    for region, (at, error) in regions.items():
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        with pytest.raises(FormatError) as info:
            decrypt(bytes(flipped))
        assert isinstance(info.value, error), (region, info.value)


def test_swapped_chunks_fail() -> None:
    data = encrypt(os.urandom(3 * CHUNK + 100))
    start = header_length(data) + 16
    first, second = data[start : start + SEALED], data[start + SEALED : start + 2 * SEALED]
    swapped = data[:start] + second + first + data[start + 2 * SEALED :]
    with pytest.raises(AgePayloadError, match="chunk 0"):
        decrypt(swapped)


def test_stream_reader_raises_at_the_bad_block_and_checks_the_end() -> None:
    data = bytearray(encrypt(os.urandom(40 * CHUNK)))
    data[-5] ^= 1  # the final chunk
    reader = age.decrypt_stream(io.BytesIO(bytes(data)), [VAULT])
    first = reader.read(CHUNK)
    assert len(first) == CHUNK  # early chunks come out authenticated
    with pytest.raises(AgePayloadError):
        reader.read()
    # Trailing data is refused before the end is reported.
    reader = age.decrypt_stream(io.BytesIO(encrypt(b"short") + b"!"), [VAULT])
    with pytest.raises(AgePayloadError):
        reader.read(1)


def test_random_mutations_only_raise_format_errors() -> None:
    """A fuzz with a fixed seed: whatever is mutated, only typed errors come out."""
    rng = random.Random(20261122)
    originals = [encrypt(os.urandom(n), armor=a) for n in (0, 70_000) for a in (False, True)] + [
        encrypt(b"pw", [age.ScryptRecipient("pw", 4)])
    ]
    identities: list[Any] = [VAULT, age.ScryptIdentity("pw")]
    for _ in range(600):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            action = rng.randrange(4)
            if action == 0:
                data[at] = rng.randrange(256)
            elif action == 1:
                del data[at : at + rng.randint(1, 50)]
            elif action == 2:
                data[at:at] = rng.randbytes(rng.randint(1, 50))
            else:
                data[at] ^= 1 << rng.randrange(8)
        with contextlib.suppress(FormatError):
            decrypt(bytes(data), identities)


# -- rewrap ------------------------------------------------------------------------------


def test_rewrap_keeps_the_payload_and_changes_who_can_read() -> None:
    data = os.urandom(200_000)
    stored = encrypt(data)
    new = io.BytesIO()
    age.rewrap(io.BytesIO(stored), new, [OTHER, VAULT], [OTHER.recipient])
    rewrapped = new.getvalue()
    assert rewrapped[header_length(rewrapped) :] == stored[header_length(stored) :]
    assert rewrapped[: header_length(rewrapped)] != stored[: header_length(stored)]
    assert decrypt(rewrapped, [OTHER]) == data
    with pytest.raises(AgeNoMatchError):
        decrypt(rewrapped, [VAULT])


@pytest.mark.parametrize("kernel_copy", ["works", "refused"])
def test_rewrap_between_files(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, kernel_copy: str
) -> None:
    """Between regular files the payload is copied in the kernel (copy_file_range),
    falling back to a plain copy where the kernel refuses."""
    calls = []
    real = os.copy_file_range

    def copy_file_range(*args: Any) -> int:
        calls.append(args)
        if kernel_copy == "refused":
            raise OSError(18, "Invalid cross-device link")
        return real(*args)

    monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    data = os.urandom(3 * CHUNK + 7)
    stored, delivered = tmp_path / "stored.age", tmp_path / "delivered.age"
    stored.write_bytes(encrypt(data))
    with stored.open("rb") as src, delivered.open("wb") as dst:
        age.rewrap(src, dst, [VAULT], [OTHER.recipient])
        dst.write(b"")
    old, new = stored.read_bytes(), delivered.read_bytes()
    assert calls
    assert new[header_length(new) :] == old[header_length(old) :]
    assert decrypt(new, [OTHER]) == data


def test_rewrap_to_a_passphrase_and_armor() -> None:
    stored = encrypt(b"pakke" * 30_000)
    new = io.BytesIO()
    age.rewrap(io.BytesIO(stored), new, [VAULT], [age.ScryptRecipient("kodeord", 10)], armor=True)
    assert new.getvalue().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert decrypt(new.getvalue(), [age.ScryptIdentity("kodeord")]) == b"pakke" * 30_000
    again = io.BytesIO()  # armored input, binary output
    passphrase: list[Any] = [age.ScryptIdentity("kodeord")]
    age.rewrap(io.BytesIO(new.getvalue()), again, passphrase, [VAULT.recipient])
    assert again.getvalue()[header_length(again.getvalue()) :] == stored[header_length(stored) :]


def test_rewrap_header_for_callers_that_copy_the_payload() -> None:
    stored = encrypt(os.urandom(100_000))
    new = age.rewrap_header(io.BytesIO(stored), [VAULT], [OTHER.recipient])
    assert new.payload_offset == header_length(stored)
    assembled = new.header + stored[new.payload_offset :]
    assert decrypt(assembled, [OTHER]) == decrypt(stored)


def test_rewrap_needs_a_matching_identity_and_a_good_header() -> None:
    with pytest.raises(AgeNoMatchError):
        age.rewrap(io.BytesIO(encrypt(b"x")), io.BytesIO(), [OTHER], [OTHER.recipient])
    stored = bytearray(encrypt(b"x"))
    stored[stored.index(b"\n---") + 8] ^= 1
    with pytest.raises((AgeHmacError, AgeHeaderError)):
        age.rewrap(io.BytesIO(bytes(stored)), io.BytesIO(), [VAULT], [OTHER.recipient])


# -- memory ------------------------------------------------------------------------------


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@pytest.mark.slow
def test_memory_stays_flat_while_streaming_200_mb(tmp_path: Any) -> None:
    import psutil

    size = 200 * 1024 * 1024
    process = psutil.Process()
    encrypted = tmp_path / "big.age"
    before = process.memory_info().rss
    with encrypted.open("wb") as out:
        age.encrypt(io.BufferedReader(_Zeros(size)), out, [VAULT.recipient])
    after_encrypt = process.memory_info().rss
    sink = _Sink()
    with encrypted.open("rb") as src:
        age.decrypt(src, sink, [VAULT])
    after_decrypt = process.memory_info().rss
    assert sink.size == size
    assert sink.digest.hexdigest() == hashlib.sha256(bytes(size)).hexdigest()
    assert after_encrypt - before < 20 * 1024 * 1024
    assert after_decrypt - before < 20 * 1024 * 1024
    with encrypted.open("rb") as src:
        reader = age.decrypt_stream(src, [VAULT])
        while reader.read(1 << 20):
            pass
    assert process.memory_info().rss - before < 20 * 1024 * 1024
