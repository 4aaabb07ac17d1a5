from __future__ import annotations

from datetime import date

import pytest

from exporter.cpr import Cpr
from exporter.errors import InvalidCprError


@pytest.mark.parametrize(
    ("text", "born"),
    [
        ("010190-1234", date(1990, 1, 1)),
        ("0101901234", date(1990, 1, 1)),
        ("010110-4234", date(2010, 1, 1)),  # 7th digit 4, year <= 36: 2000s
        ("010150-4234", date(1950, 1, 1)),  # 7th digit 4, year > 36: 1900s
        ("010160-5234", date(1860, 1, 1)),  # 5-8, year >= 58: 1800s
        ("010120-9234", date(2020, 1, 1)),
        ("290200-4234", date(2000, 2, 29)),  # leap day
        ("710190-1234", date(1990, 1, 11)),  # day + 60: synthetic
    ],
)
def test_valid(text: str, born: date) -> None:
    cpr = Cpr.parse(text)
    assert cpr.birth_date == born
    assert cpr.masked.endswith("-xxxx") and "1234" not in repr(cpr)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123",
        "01019012345",
        "0101901-234",
        "ab0190-1234",
        "320190-1234",
        "011390-1234",
        "290201-4234",
        "000190-1234",
        "920190-1234",
        "01 01 90 1234",
        "０１０１９０-１２３４",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidCprError):
        Cpr.parse(text)


@pytest.mark.parametrize("value", [None, 101901234, 1.5, ["010190-1234"], b"010190-1234"])
def test_wrong_type(value: object) -> None:
    with pytest.raises(InvalidCprError):
        Cpr.parse(value)


def test_synthetic() -> None:
    assert Cpr.parse("710190-1234").is_synthetic
    assert not Cpr.parse("110190-1234").is_synthetic
