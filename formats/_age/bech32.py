"""Bech32 (BIP 173) as age uses it for keys: ``age1…`` and ``AGE-SECRET-KEY-1…``.

age ignores BIP 173's 90-character limit and uses the original Bech32 checksum (not
Bech32m). Mixed case is refused; the result is lower case unless asked otherwise.
"""

from __future__ import annotations

__all__ = ["decode", "encode"]

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_REVERSE = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                check ^= generator
    return check


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: bytes | list[int], source: int, target: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maximum = (1 << target) - 1
    for value in data:
        if value >> source:
            raise ValueError("invalid data value")
        acc = (acc << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((acc >> bits) & maximum)
    if pad:
        if bits:
            out.append((acc << (target - bits)) & maximum)
    elif bits >= source or (acc << (target - bits)) & maximum:
        raise ValueError("invalid padding")
    return out


def encode(hrp: str, data: bytes, *, upper: bool = False) -> str:
    hrp = hrp.lower()
    words = _convert(data, 8, 5, True)
    check = _polymod([*_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    words += [(check >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(_CHARSET[w] for w in words)
    return text.upper() if upper else text


def decode(text: str) -> tuple[str, bytes]:
    """(human-readable part in lower case, data); ``ValueError`` if malformed."""
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise ValueError("invalid character")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise ValueError("missing separator or checksum")
    hrp, rest = text[:sep], text[sep + 1 :]
    try:
        words = [_REVERSE[c] for c in rest]
    except KeyError:
        raise ValueError("invalid character") from None
    if _polymod([*_expand(hrp), *words]) != 1:
        raise ValueError("bad checksum")
    return hrp, bytes(_convert(words[:-6], 5, 8, False))
