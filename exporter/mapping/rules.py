"""The mapping rules a profile may write, checked when the profile loads."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from exporter.mapping.convert import date_parser, number_parser, template_fields

__all__ = ["LOOKUPS", "FieldRule", "RuleSpec"]

LOOKUPS = {
    "kle": "KLE emne number (32.06.08) to its title",
    "kle-facet": "KLE handlingsfacet (G01) to its title",
}

Scalar = str | int | float | bool


class FieldRule(BaseModel):
    """How one record field is made from a source record.

    Exactly one of ``from`` (a source field, dotted for nested JSON), ``value`` (a fixed
    value) or ``template`` (``"{aar}-{nr}"``) says where the value comes from; at most
    one of ``date``, ``number``, ``lookup`` or ``codes`` converts it; ``default`` is used
    when the source field is missing or empty.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | None = Field(default=None, alias="from", min_length=1, max_length=200)
    value: Scalar | None = None
    template: str | None = Field(default=None, min_length=1, max_length=500)
    date: str | None = Field(default=None, max_length=40)
    number: Literal["da", "en", "plain"] | None = None
    lookup: Literal["kle", "kle-facet"] | None = None
    codes: dict[str, Scalar] | None = None
    default: Scalar | None = None

    @field_validator("date")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        if value is not None:
            date_parser(value)  # raises ValueError naming the problem
        return value

    @field_validator("number")
    @classmethod
    def _number_style(cls, value: str | None) -> str | None:
        if value is not None:
            number_parser(value)
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            template_fields(value)
        return value

    @field_validator("codes")
    @classmethod
    def _codes(cls, value: dict[str, Scalar] | None) -> dict[str, Scalar] | None:
        if value is not None and not value:
            raise ValueError("codes must list at least one code")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [k for k in ("from", "value", "template") if self.given(k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of from, value or template")
        converters = self.converters()
        if len(converters) > 1:
            raise ValueError(f"give at most one of date, number, lookup, codes (got "
                             f"{', '.join(converters)})")
        if self.value is not None and (converters or self.default is not None):
            raise ValueError("a fixed value takes no conversion or default")
        return self

    def given(self, key: str) -> Any:
        return self.from_ if key == "from" else getattr(self, key)

    def converters(self) -> list[str]:
        return [k for k in ("date", "number", "lookup", "codes") if getattr(self, k) is not None]


def _shorthand(value: Any) -> Any:
    return {"from": value} if isinstance(value, str) else value


RuleSpec = Annotated[FieldRule, BeforeValidator(_shorthand)]
"""A rule as written: a plain string is short for ``{ from = "..." }``."""
