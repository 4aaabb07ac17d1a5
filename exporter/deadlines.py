"""Deadlines by GDPR Art. 12(3), for access requests and for flags alike.

The controller answers "without undue delay and in any event within one month of
receipt"; the period "may be extended by two further months", and the data subject is
told of an extension, with its reasons, within the first month. A month is a calendar
month, counted from the day of receipt in Denmark: the same date in the next month, or
that month's last day where the date does not exist (31 January → 28 or 29 February). A
deadline that falls on a Saturday, a Sunday or a Danish public holiday (the `holidays`
package knows them, Easter and Store Bededag's abolition from 2024 included) moves to
the next working day.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DANISH_TIME",
    "MAX_EXTENSION_MONTHS",
    "add_months",
    "danish_date",
    "extension_allowed",
    "extension_months",
    "is_working_day",
    "response_deadline",
]

MAX_EXTENSION_MONTHS = 2
"""Art. 12(3): one month, extendable by two further months."""
DANISH_TIME = ZoneInfo("Europe/Copenhagen")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it has fewer days."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("DK", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def danish_date(moment: datetime) -> date:
    """The date in Denmark at ``moment`` (a receipt just after midnight Danish time is
    the next day's, though it is still the previous day in UTC)."""
    return moment.astimezone(DANISH_TIME).date()


def response_deadline(received: date, extension_months: int = 0) -> date:
    """The last day to answer something received on ``received``: one month, plus
    ``extension_months`` (0 to 2), moved on to a working day."""
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 0 to {MAX_EXTENSION_MONTHS} months")
    day = add_months(received, 1 + extension_months)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def extension_months(received: date, extended: date | None) -> int:
    """How many months of extension a deadline of ``extended`` (None: none) holds: the
    fewest that reach it. Tolerant of a date stored by an earlier rule or before a
    holiday was known, which may be a day or two off the one computed now."""
    if extended is None:
        return 0
    for months in range(1, MAX_EXTENSION_MONTHS):
        if extended <= response_deadline(received, months):
            return months
    return MAX_EXTENSION_MONTHS


def extension_allowed(received: date, today: date) -> bool:
    """Whether the deadline may still be extended: the citizen must be told within the
    first month, so not after the first month's deadline."""
    return today <= response_deadline(received)
