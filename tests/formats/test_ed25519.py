"""Streaming Ed25519: RFC 8032 vectors, PyNaCl both ways, and what a verifier must refuse."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from nacl import bindings
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from formats.ed25519 import (
    SIGNATURE_SIZE,
    MessageChanged,
    StreamVerifier,
    public_key_of,
    sign_stream,
)

L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P

# RFC 8032 section 7.1: name, secret key (seed), public key, message, signature
RFC8032 = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
        "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
        "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
        "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
        "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
        "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
        "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
        "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
        "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
        "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
        "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
        "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
        "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
        "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
        "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
        "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
        "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
        "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
        "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
        "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
        "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
        "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
        "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
        "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
        "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
        "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
        "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
        "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
        "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
        "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
        "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
        "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]
VECTORS = [
    pytest.param(*(bytes.fromhex(h) for h in hexes), id=name) for name, *hexes in RFC8032
]

SEED = bytes(range(32))
PUBLIC = public_key_of(SEED)
MESSAGE = random.Random(8032).randbytes(5000)
SIGNATURE = SigningKey(SEED).sign(MESSAGE).signature


def _pieces(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` cut at random places, empty pieces included."""
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 6)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _valid(public_key: bytes, signature: bytes, *pieces: bytes | memoryview) -> bool:
    verifier = StreamVerifier(public_key, signature)
    for piece in pieces:
        verifier.update(piece)
    return verifier.valid()


def _libsodium_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        VerifyKey(public_key).verify(message, signature)
    except BadSignatureError:
        return False
    return True


def _with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


def _flip(data: bytes, index: int, bit: int = 0) -> bytes:
    flipped = bytearray(data)
    flipped[index] ^= 1 << bit
    return bytes(flipped)


def _encodings_of_small_order_points() -> list[bytes]:
    """Both sign bits of each y of the points of order 1, 2, 4 and 8, with y >= p for 1 and 0
    (the encodings libsodium's small-order check lists)."""
    order_8 = [int.from_bytes(bytes.fromhex(h), "little") for h in (
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    )]
    return [(y | sign << 255).to_bytes(32, "little")
            for y in (1, P + 1, P - 1, 0, P, *order_8) for sign in (0, 1)]


def _x_of(y: int) -> int | None:
    """The x of a point on edwards25519 with this y (one of the two), or None if there is none."""
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = pow(u * pow(v, -1, P), (P + 3) // 8, P)
    if (v * x * x - u) % P != 0:
        x = x * pow(2, (P - 1) // 4, P) % P
    return x if (v * x * x - u) % P == 0 else None


SMALL_ORDER = _encodings_of_small_order_points()


@pytest.mark.parametrize(("seed", "public_key", "message", "signature"), VECTORS)
def test_rfc8032_vectors(seed: bytes, public_key: bytes, message: bytes,
                         signature: bytes) -> None:
    assert public_key_of(seed) == public_key
    assert sign_stream(seed, lambda: [message]) == signature
    pieces = _pieces(message, random.Random(len(message)))
    assert sign_stream(seed, lambda: pieces) == signature
    assert _valid(public_key, signature, *pieces)
    assert SigningKey(seed).sign(message).signature == signature


@pytest.mark.parametrize("trial", range(40))
def test_random_keys_messages_and_pieces_agree_with_pynacl(trial: int) -> None:
    rng = random.Random(trial)
    seed = rng.randbytes(32)
    message = rng.randbytes(rng.choice([0, 1, 63, 64, 65, 127, 128, 1000, rng.randint(0, 70_000)]))
    key = SigningKey(seed)
    assert public_key_of(seed) == bytes(key.verify_key)
    ours = sign_stream(seed, lambda: _pieces(message, rng))  # different cuts in each pass
    assert ours == key.sign(message).signature
    key.verify_key.verify(message, ours)
    assert _valid(bytes(key.verify_key), key.sign(message).signature, *_pieces(message, rng))


def test_memoryview_pieces_are_checked_like_bytes() -> None:
    view = memoryview(MESSAGE)
    assert _valid(PUBLIC, SIGNATURE, view[:100], view[100:])


def test_the_verdict_follows_what_has_been_fed_so_far() -> None:
    verifier = StreamVerifier(PUBLIC, SIGNATURE)
    verifier.update(MESSAGE[:-1])
    assert not verifier.valid()
    verifier.update(MESSAGE[-1:])
    assert verifier.valid()
    assert verifier.valid()
    verifier.update(b"\0")
    assert not verifier.valid()


@pytest.mark.parametrize("message", [
    _flip(MESSAGE, 0), _flip(MESSAGE, 4999, 7), MESSAGE[:-1], MESSAGE + b"\0", b"",
])
def test_a_tampered_message_is_refused(message: bytes) -> None:
    assert not _valid(PUBLIC, SIGNATURE, message)


@pytest.mark.parametrize(("index", "bit"), [(0, 0), (17, 3), (31, 7), (32, 0), (50, 5), (63, 4)])
def test_a_tampered_signature_is_refused(index: int, bit: int) -> None:
    tampered = _flip(SIGNATURE, index, bit)
    assert not _valid(PUBLIC, tampered, MESSAGE)
    assert not _libsodium_valid(PUBLIC, tampered, MESSAGE)


def test_s_not_below_l_is_refused() -> None:
    s = int.from_bytes(SIGNATURE[32:], "little")
    # S + L is the same scalar: [S + L]B = [S]B, so only the range check refuses it
    for big in (s + L, s + 2 * L, L, 2**256 - 1):
        if big < 2**256:
            assert not _valid(PUBLIC, _with_s(SIGNATURE, big), MESSAGE)
            assert not _libsodium_valid(PUBLIC, _with_s(SIGNATURE, big), MESSAGE)


def test_s_zero_is_refused_without_an_error() -> None:
    assert not _valid(PUBLIC, _with_s(SIGNATURE, 0), MESSAGE)


def test_another_public_key_is_refused() -> None:
    other = public_key_of(bytes(32))
    assert not _valid(other, SIGNATURE, MESSAGE)
    assert not _valid(_flip(PUBLIC, 0), SIGNATURE, MESSAGE)


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 128])
def test_a_signature_of_another_length_is_refused(length: int) -> None:
    signature = (SIGNATURE * 2)[:length]
    assert len(signature) != SIGNATURE_SIZE
    assert not _valid(PUBLIC, signature, MESSAGE)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_a_public_key_of_another_length_is_refused(length: int) -> None:
    assert not _valid((PUBLIC * 2)[:length], SIGNATURE, MESSAGE)


def test_the_small_order_encodings_are_of_small_order() -> None:
    identity = (1).to_bytes(32, "little")
    decodable = 0
    for encoded in SMALL_ORDER:
        y = int.from_bytes(encoded, "little") & (2**255 - 1)
        x = _x_of(y % P)
        assert x is not None
        if x == 0 and encoded[31] & 0x80:
            continue  # x = 0 with the sign bit set: no point at all
        decodable += 1
        point = encoded
        for _ in range(3):
            point = bindings.crypto_core_ed25519_add(point, point)
        assert point == identity
    assert decodable == 11
    assert not any(bindings.crypto_core_ed25519_is_valid_point(p) for p in SMALL_ORDER)


@pytest.mark.parametrize("point", SMALL_ORDER, ids=lambda p: p.hex()[:8] + ".." + p.hex()[-4:])
def test_small_order_keys_and_nonces_are_refused(point: bytes) -> None:
    # with A and R of small order and S = 0, [S]B = R + [k]A holds for some messages
    # (every message, for the identity): libsodium refuses both, and so must we
    for message in (b"", b"a", b"any message at all"):
        for s in (0, 1):
            forged = point + s.to_bytes(32, "little")
            assert not _valid(point, forged, message)
            assert not _libsodium_valid(point, forged, message)
    assert not _valid(PUBLIC, point + SIGNATURE[32:], MESSAGE)
    assert not _libsodium_valid(PUBLIC, point + SIGNATURE[32:], MESSAGE)


def test_non_canonical_encodings_of_points_are_refused() -> None:
    # y + p, for a y < 19 that is on the curve: the same point as y, written another way
    for y in range(19):
        if _x_of(y) is None:
            continue
        canonical = y.to_bytes(32, "little")
        other = (y + P).to_bytes(32, "little")
        if bindings.crypto_core_ed25519_is_valid_point(canonical):
            assert not bindings.crypto_core_ed25519_is_valid_point(other)
        assert not _valid(other, SIGNATURE, MESSAGE)
        assert not _valid(PUBLIC, other + SIGNATURE[32:], MESSAGE)
        assert not _libsodium_valid(other, SIGNATURE, MESSAGE)


def test_a_key_with_a_small_order_component_is_refused() -> None:
    """A + T (T of order 8) checks like A for a challenge k divisible by 8 under the
    cofactorless equation, which libsodium accepts; no honest key has such a component,
    and refusing it keeps the cofactorless and cofactored equations in agreement."""
    torsion = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    mixed = bindings.crypto_core_ed25519_add(PUBLIC, torsion)
    scalar = int.from_bytes(_clamped(SEED), "little") % L
    assert public_key_of(SEED) == bindings.crypto_scalarmult_ed25519_base_noclamp(
        scalar.to_bytes(32, "little"))
    nonce = 7
    r_point = bindings.crypto_scalarmult_ed25519_base_noclamp(nonce.to_bytes(32, "little"))
    for attempt in range(200):
        message = b"%d" % attempt
        k = _challenge(r_point, mixed, message)
        if k % 8 == 0:
            break
    assert k % 8 == 0
    signature = r_point + ((nonce + k * scalar) % L).to_bytes(32, "little")
    assert not _valid(mixed, signature, message)
    assert _valid(PUBLIC, r_point + ((nonce + _challenge(r_point, PUBLIC, message) * scalar)
                                     % L).to_bytes(32, "little"), message)


def _clamped(seed: bytes) -> bytes:
    scalar = bytearray(hashlib.sha512(seed).digest()[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    return bytes(scalar)


def _challenge(r_point: bytes, public_key: bytes, message: bytes) -> int:
    digest = hashlib.sha512(r_point + public_key + message).digest()
    return int.from_bytes(digest, "little") % L


def test_a_message_that_changes_between_the_two_passes_is_not_signed() -> None:
    """The nonce comes from the first pass and the challenge from the second; a signature
    mixing two messages, beside one of the first message alone, gives the secret away:
    S1 - S2 = (k1 - k2) s with the same nonce."""
    passes = iter([[MESSAGE], [_flip(MESSAGE, 10)]])
    with pytest.raises(MessageChanged, match="changed"):
        sign_stream(SEED, lambda: next(passes))
    passes = iter([[MESSAGE], [MESSAGE[:-1]]])
    with pytest.raises(MessageChanged, match="changed"):
        sign_stream(SEED, lambda: next(passes))
    passes = iter([[MESSAGE[:-1]], [MESSAGE]])
    with pytest.raises(MessageChanged, match="changed"):
        sign_stream(SEED, lambda: next(passes))


def test_a_one_shot_iterator_is_not_signed() -> None:
    pieces: Iterator[bytes] = iter([MESSAGE[:10], MESSAGE[10:]])
    with pytest.raises(MessageChanged, match="changed"):
        sign_stream(SEED, lambda: pieces)


def test_an_empty_message_read_twice_is_signed() -> None:
    assert sign_stream(SEED, list) == SigningKey(SEED).sign(b"").signature
