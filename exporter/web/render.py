"""Rendering the pages: one Jinja environment over ``templates/web``, the texts in
Danish and English, and the formats (dates, times, amounts) a page shows.

Texts live in ``templates/web/texts/da.toml`` and ``en.toml``, the same keys in both (a
test checks); a template reads them as ``t.section.key``, and a missing key fails the
render (``StrictUndefined``) rather than show an empty place.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from exporter.cpr import Cpr
from formats.text import clean_text, shorten

__all__ = ["LANGUAGES", "TIMEZONE", "format_date", "format_datetime", "render", "static_url",
           "texts"]

LANGUAGES = ("da", "en")
TIMEZONE = ZoneInfo("Europe/Copenhagen")
_MONTHS = {
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
           "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}


@functools.cache
def texts(language: str) -> Mapping[str, Any]:
    data = resources.files("templates").joinpath("web", "texts", f"{language}.toml")
    return tomllib.loads(data.read_text("utf-8"))


def format_date(value: date | str | None, language: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text[:10])
        except ValueError:
            return shorten(clean_text(text), 40)
    if isinstance(value, datetime):
        value = value.astimezone(TIMEZONE).date()
    month = _MONTHS[language][value.month - 1]
    return f"{value.day}. {month} {value.year}" if language == "da" \
        else f"{value.day} {month} {value.year}"


def format_datetime(value: datetime | None, language: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(TIMEZONE)
    day = format_date(local.date(), language)
    return f"{day} kl. {local:%H.%M}" if language == "da" else f"{day} at {local:%H:%M}"


def _show(value: Any, limit: int = 200) -> str:
    if value is None:
        return ""
    return shorten(clean_text(str(value)), limit)


@functools.cache
def static_url(name: str) -> str:
    """``/static/name?v=<hash>``: the content's hash lets browsers keep it for a year."""
    data = resources.files("templates").joinpath("web", "static", name).read_bytes()
    return f"/static/{name}?v={hashlib.sha256(data).hexdigest()[:12]}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("templates").joinpath("web"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = _show
    env.filters["masked_cpr"] = lambda digits: Cpr(str(digits)).masked
    env.globals["static"] = static_url
    return env


def render(template: str, values: Mapping[str, Any]) -> str:
    """``template`` (a path under ``templates/web``) rendered in ``values["lang"]``."""
    language = values["lang"]
    return _environment().get_template(template).render(
        values,
        t=texts(language),
        date=lambda v: format_date(v, language),
        datetime=lambda v: format_datetime(v, language),
        tx=lambda m: (m or {}).get(language) or (m or {}).get("da", ""),
    )
