"""Danish CPR numbers (personnumre): parsing, validation and safe display.

Format ``DDMMYY-SSSS``; the seventh digit and the year give the century. Modulus 11 has
not been required since 2007, so it is not checked. Days 61-91 are day + 60: the CPR
office's convention for replacement numbers (erstatningspersonnumre), never issued as
CPR numbers; the demo source serves only these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from exporter.errors import InvalidCprError

__all__ = ["Cpr"]

_PATTERN = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})-?([0-9]{4})")


def _century(year2: int, digit7: int) -> int:
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if year2 <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if year2 <= 57 else 1800


@dataclass(frozen=True, slots=True)
class Cpr:
    """A validated CPR number. ``str()`` gives ``DDMMYY-SSSS``; never log it."""

    digits: str

    @classmethod
    def parse(cls, text: object) -> Cpr:
        if not isinstance(text, str):
            raise InvalidCprError("a CPR number must be a string of 10 digits (DDMMYY-SSSS)")
        match = _PATTERN.fullmatch(text.strip())
        if not match:
            raise InvalidCprError("a CPR number has 10 digits, written DDMMYY-SSSS or DDMMYYSSSS")
        day, month, year2 = int(match[1]), int(match[2]), int(match[3])
        serial = match[4]
        real_day = day - 60 if day > 60 else day
        year = _century(year2, int(serial[0])) + year2
        try:
            date(year, month, real_day)
        except ValueError:
            raise InvalidCprError(
                "the first six digits of a CPR number must be a real date (DDMMYY)"
            ) from None
        return cls(match[1] + match[2] + match[3] + serial)

    @property
    def birth_date(self) -> date:
        day, month, year2 = int(self.digits[0:2]), int(self.digits[2:4]), int(self.digits[4:6])
        day = day - 60 if day > 60 else day
        return date(_century(year2, int(self.digits[6])) + year2, month, day)

    @property
    def is_synthetic(self) -> bool:
        """True for day + 60 numbers, which no real person's birthday gives."""
        return int(self.digits[0:2]) > 60

    @property
    def masked(self) -> str:
        """Safe to show on screen or in a log: ``DDMMYY-xxxx``."""
        return f"{self.digits[:6]}-xxxx"

    def __str__(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6:]}"

    def __repr__(self) -> str:
        return f"Cpr({self.masked!r})"
