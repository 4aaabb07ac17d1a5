"""Art. 12(3) deadlines: calendar months, month ends, weekends and Danish holidays, and
the extension rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from exporter.deadlines import (
    add_months,
    danish_date,
    extension_allowed,
    extension_months,
    is_working_day,
    response_deadline,
)


@pytest.mark.parametrize(("received", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),   # no 31 February
    (date(2028, 1, 31), 1, date(2028, 2, 29)),   # leap year
    (date(2028, 2, 29), 1, date(2028, 3, 29)),
    (date(2027, 2, 28), 1, date(2027, 3, 28)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),  # over the new year
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
])
def test_a_month_is_a_calendar_month(received: date, months: int, expected: date) -> None:
    assert add_months(received, months) == expected


@pytest.mark.parametrize(("received", "expected", "why"), [
    (date(2026, 1, 12), date(2026, 2, 12), "a Thursday: stays"),
    (date(2026, 1, 14), date(2026, 2, 16), "14 February 2026 is a Saturday"),
    (date(2026, 1, 15), date(2026, 2, 16), "15 February 2026 is a Sunday"),
    (date(2026, 1, 31), date(2026, 3, 2), "28 February 2026 is a Saturday"),
    (date(2028, 1, 31), date(2028, 2, 29), "29 February 2028 is a Tuesday"),
    (date(2026, 3, 2), date(2026, 4, 7), "Maundy Thursday to Easter Monday 2026"),
    (date(2026, 3, 3), date(2026, 4, 7), "Good Friday 2026"),
    (date(2027, 2, 26), date(2027, 3, 30), "Good Friday 2027, then Easter Monday"),
    (date(2026, 11, 25), date(2026, 12, 28), "Christmas Day, Boxing Day, then Sunday"),
    (date(2026, 11, 24), date(2026, 12, 24), "Christmas Eve is a working day"),
    (date(2026, 12, 1), date(2027, 1, 4), "New Year's Day, then a weekend"),
    (date(2026, 4, 14), date(2026, 5, 15), "14 May 2026 is Ascension Day"),
    (date(2026, 4, 25), date(2026, 5, 26), "Whit Monday 2026, after Whit Sunday"),
])
def test_a_deadline_on_a_closed_day_moves_to_the_next_working_day(
        received: date, expected: date, why: str) -> None:
    assert response_deadline(received) == expected, why
    assert is_working_day(expected)


def test_store_bededag_is_no_holiday_since_2024() -> None:
    assert not is_working_day(date(2023, 5, 5))  # the last Store Bededag
    assert is_working_day(date(2024, 4, 26))


def test_extensions_add_up_to_two_months() -> None:
    received = date(2026, 1, 31)
    assert response_deadline(received, 1) == date(2026, 3, 31)
    assert response_deadline(received, 2) == date(2026, 4, 30)
    assert extension_months(received, None) == 0
    assert extension_months(received, date(2026, 4, 30)) == 2
    with pytest.raises(ValueError):
        response_deadline(received, 3)
    # A date a little off (stored by an earlier rule) is read, not refused with an error.
    assert extension_months(received, date(2026, 4, 29)) == 2


def test_an_extension_is_allowed_only_within_the_first_month() -> None:
    received = date(2026, 1, 31)
    assert extension_allowed(received, date(2026, 3, 2))  # the moved deadline itself
    assert not extension_allowed(received, date(2026, 3, 3))


def test_the_day_of_receipt_is_the_danish_date() -> None:
    just_after_midnight = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 in Denmark
    assert danish_date(just_after_midnight) == date(2026, 2, 1)


def test_an_extended_deadline_stored_by_an_earlier_rule_still_counts() -> None:
    """A date a day or two off the one computed now (an older rule, a holiday added to
    the calendar since) is read as the months it nearly is, never an error."""
    received = date(2027, 1, 31)
    assert extension_months(received, None) == 0
    assert extension_months(received, response_deadline(received, 1)) == 1
    assert extension_months(received, date(2027, 3, 28)) == 1  # add_months, unmoved
    assert extension_months(received, response_deadline(received, 2)) == 2
    assert extension_months(received, date(2027, 4, 10)) == 2
