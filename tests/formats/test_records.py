"""Record types: checking a page of records at once agrees with the full schema."""

from __future__ import annotations

from typing import Any

import pytest

from formats.records import _without_implied_rules, record_type, record_types

GOOD: dict[str, Any] = {
    "id": "urn:egnedata:0751:ydelsesindeks:payment:P1",
    "type": "Payment",
    "grant": "urn:egnedata:0751:ydelsesindeks:grant:B1",
    "benefit": "Boligsikring",
    "paymentDate": "2026-01-29",
    "grossAmount": 1850.0,
    "netAmount": 1165.5,
    "currency": "DKK",
}

BAD: list[dict[str, Any]] = [
    {**GOOD, "paymentDate": "2026-02-30"},  # format
    {**GOOD, "grossAmount": "1850"},  # type
    {**GOOD, "currency": "EUR"},  # const
    {**GOOD, "id": "P1"},  # pattern
    {**GOOD, "type": "Case"},
    {**GOOD, "extra": 1},  # additionalProperties
    {**GOOD, "Bad-Name": 1},  # additionalProperties and propertyNames
    {**GOOD, "@id": "x"},
    {k: v for k, v in GOOD.items() if k != "benefit"},  # required
]


def test_a_page_of_good_records_passes() -> None:
    assert record_type("Payment").all_valid([GOOD, dict(GOOD)])


@pytest.mark.parametrize("bad", BAD)
def test_one_bad_record_fails_the_page(bad: dict[str, Any]) -> None:
    rt = record_type("Payment")
    assert not rt.validator.is_valid(bad)
    assert not rt.all_valid([GOOD, bad, GOOD])


def test_only_implied_property_name_rules_are_dropped() -> None:
    for rt in record_types().values():
        lean = _without_implied_rules(rt.schema)
        assert "propertyNames" in rt.schema  # the shipped schema keeps it
        assert "propertyNames" not in lean
        assert {k: v for k, v in rt.schema.items() if k != "propertyNames"} == lean
    # A listed name that breaks the rule keeps it, as does an open object.
    odd = {**record_type("Payment").schema, "properties": {"Odd-Name": {}}}
    assert "propertyNames" in _without_implied_rules(odd)
    open_ = {**record_type("Payment").schema, "additionalProperties": True}
    assert "propertyNames" in _without_implied_rules(open_)


def test_period_overlap_by_the_record_types_dates() -> None:
    from formats.records import record_type

    case = record_type("Case")
    assert case.period == ("openedDate", "closedDate")
    closed = {"openedDate": "2023-02-01", "closedDate": "2023-06-30"}
    open_case = {"openedDate": "2021-01-01"}
    assert case.overlaps(closed, "2023-06-01", None)
    assert not case.overlaps(closed, "2023-07-01", None)
    assert not case.overlaps(closed, None, "2023-01-31")
    assert case.overlaps(open_case, "2026-01-01", "2026-12-31")  # still open: reaches today
    payment = record_type("Payment")
    assert payment.overlaps({"paymentDate": "2024-05-01"}, "2024-05-01", "2024-05-01")
    assert not payment.overlaps({"paymentDate": "2024-04-30"}, "2024-05-01", None)
    person = record_type("Person")
    assert person.period is None and person.overlaps({}, "2030-01-01", "2030-01-02")
