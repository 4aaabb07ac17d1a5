"""Neutralising hostile strings from source systems, per output format.

The JSON-LD files keep every string exactly as the source gave it (JSON escaping makes
them harmless there). What a person sees is cleaned:

- HTML: control characters and bidirectional overrides become U+FFFD, long values are
  cut short (everything is in the data files); Jinja2 autoescaping does the markup.
- CSV: the same clean-up, and a value a spreadsheet would run as a formula (it starts
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe,
  as OWASP recommends for CSV injection.
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "clean_text", "csv_text", "shorten"]

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional
# embedding/override/isolate characters used to disguise text ("Trojan source").
_UNSAFE = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]
_UNSAFE += [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
_TABLE = dict.fromkeys(_UNSAFE, "\ufffd")
_TABLE[0x0D] = ""  # a lone CR is noise in a cell; CRLF becomes LF

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def clean_text(value: str) -> str:
    """Replace control and bidi-override characters with U+FFFD."""
    if value.isprintable():
        return value
    return value.translate(_TABLE)


def shorten(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def csv_text(value: str) -> str:
    """A string made safe to open in a spreadsheet."""
    if not value.isprintable():
        value = value.translate(_TABLE)
    if not value:
        return value
    first = value[0]
    if first in FORMULA_TRIGGERS or (first.isspace() and value.lstrip()[:1] in FORMULA_TRIGGERS):
        return "'" + value
    return value
