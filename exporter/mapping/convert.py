"""Value conversions a mapping can apply: dates, numbers, templates.

Each converter takes a source value and returns the converted value, or raises
:class:`Unconvertible` (which never carries the value, only the rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

__all__ = [
    "DATE_TOKENS",
    "NUMBER_STYLES",
    "Unconvertible",
    "date_parser",
    "number_parser",
    "render_template",
    "template_fields",
]

DATE_TOKENS = ("yyyy", "mm", "dd")
NUMBER_STYLES = {
    "da": "Danish: 1.234,50 (thousands point, decimal comma)",
    "en": "English: 1,234.50 (thousands comma, decimal point)",
    "plain": "1234.50 (no thousands separator)",
}
_SEPARATORS = "-./ "
_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_.-]*)\}")
_SPACES = str.maketrans("", "", " \u00a0\u202f")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class Unconvertible(ValueError):
    """A value could not be converted; the message names only the rule."""


def _date_pattern(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """``dd-mm-yyyy`` -> a regex with one group per token, and the tokens in order."""
    if fmt == "iso":
        fmt = "yyyy-mm-dd"
    rest = fmt
    parts: list[str] = []
    order: list[str] = []
    separated = any(sep in fmt for sep in _SEPARATORS)
    while rest:
        for part in DATE_TOKENS:
            if rest.startswith(part):
                if part in order:
                    raise ValueError(f"date format {fmt!r} has {part} twice")
                order.append(part)
                width = 4 if part == "yyyy" else 2
                parts.append(rf"([0-9]{{{width}}})" if part == "yyyy" or not separated
                             else r"([0-9]{1,2})")
                rest = rest[len(part):]
                break
        else:
            if rest[0] not in _SEPARATORS:
                raise ValueError(
                    f"date format {fmt!r}: use yyyy, mm and dd separated by -, ., / or space"
                )
            parts.append(re.escape(rest[0]))
            rest = rest[1:]
    if sorted(order) != sorted(DATE_TOKENS):
        raise ValueError(f"date format {fmt!r} must have yyyy, mm and dd once each")
    # A time after the date (``31-12-2024 10:15``), as legacy exports write, is ignored.
    return re.compile("".join(parts) + r"(?:[ T][0-9:.+Z-]*)?"), tuple(order)


def date_parser(fmt: str) -> Callable[[Any], str]:
    """A function turning a date written as ``fmt`` into an ISO date (``2024-12-31``).

    ``fmt`` is ``iso`` or built from ``dd``, ``mm`` and ``yyyy`` with separators, e.g.
    ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``yyyymmdd``. Raises ``ValueError`` if ``fmt`` is
    not such a format.
    """
    pattern, order = _date_pattern(fmt)
    rule = f"date {fmt}"
    where = {token: i + 1 for i, token in enumerate(order)}
    year, month, day = where["yyyy"], where["mm"], where["dd"]

    def parse(value: Any) -> str:
        if value.__class__ is date:
            return str(value.isoformat())
        if isinstance(value, datetime):
            return value.date().isoformat()
        if not isinstance(value, str):
            raise Unconvertible(rule)
        match = pattern.fullmatch(value.strip())
        if match is None:
            raise Unconvertible(rule)
        try:
            return date(int(match[year]), int(match[month]), int(match[day])).isoformat()
        except ValueError:
            raise Unconvertible(rule) from None

    return parse


def number_parser(style: str) -> Callable[[Any], int | float]:
    """A function turning a number written in ``style`` (see NUMBER_STYLES) into a number."""
    if style not in NUMBER_STYLES:
        raise ValueError(f"number style {style!r}: expected one of {', '.join(NUMBER_STYLES)}")
    rule = f"number {style}"
    thousands, decimal = {"da": (".", ","), "en": (",", "."), "plain": ("", ".")}[style]

    def parse(value: Any) -> int | float:
        if value.__class__ is int or value.__class__ is float:  # not bool
            return value
        if not isinstance(value, str):
            raise Unconvertible(rule)
        text = value.translate(_SPACES)
        if thousands:
            text = text.replace(thousands, "")
        if decimal != ".":
            if "." in text:  # a point in a Danish number after removing thousands: wrong
                raise Unconvertible(rule)
            text = text.replace(decimal, ".")
        if _PLAIN_NUMBER.fullmatch(text) is None:
            raise Unconvertible(rule)
        return float(text) if "." in text else int(text)

    return parse


def template_fields(template: str) -> tuple[str, ...]:
    """The source fields a template names: ``"{aar}-{nr}"`` -> ``("aar", "nr")``.

    Only plain ``{field}`` placeholders are allowed (no format specs, no attribute or
    index access), so a template cannot reach anything but the record's own fields.
    """
    names = tuple(_TEMPLATE_FIELD.findall(template))
    leftover = _TEMPLATE_FIELD.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ValueError(
            f"template {template!r}: placeholders are {{field}}, with letters, digits, _ - ."
        )
    if not names:
        raise ValueError(f"template {template!r} names no source field")
    return names


def render_template(template: str, values: Mapping[str, str]) -> str:
    return _TEMPLATE_FIELD.sub(lambda m: values[m[1]], template)
