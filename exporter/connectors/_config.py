"""What the built-in connectors share: settings models, secrets and the subject's values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from exporter.connectors.base import Subject

__all__ = [
    "SUBJECT_PLACEHOLDERS",
    "ConnectorSettings",
    "dataset_options",
    "fill_template",
    "parse_settings",
    "read_secret",
    "subject_values",
    "template_problem",
]

SUBJECT_PLACEHOLDERS = ("{cpr}", "{cpr_dashed}")
"""Where a template puts the subject: 10 digits, or ``DDMMYY-SSSS``."""

M = TypeVar("M", bound=BaseModel)


class ConnectorSettings(BaseModel):
    """Base of the connectors' settings: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def parse_settings(model: type[M], settings: Mapping[str, Any], what: str) -> M:
    """Validate ``settings``; a ``ValueError`` lists each wrong key (never its value)."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False, include_input=False):
            key = ".".join(str(p) for p in error["loc"]) or "(settings)"
            lines.append(f"{key}: {error['msg'].removeprefix('Value error, ')}")
        raise ValueError(f"{what}: " + "; ".join(lines)) from None


def dataset_options(model: type[M], source: BaseModel, overrides: Mapping[str, Any],
                    what: str) -> M:
    """The options of one dataset: the source's settings for ``model``'s fields, with
    the dataset's ``overrides`` on top; any other key in ``overrides`` is an error."""
    keys = tuple(model.model_fields)
    unknown = set(overrides) - set(keys)
    if unknown:
        raise ValueError(f"unknown {what} dataset options: {', '.join(sorted(unknown))}; "
                         f"expected {', '.join(keys)}")
    return model.model_validate({**{k: getattr(source, k) for k in keys}, **overrides})


def read_secret(env: str | None, file: str | None, setting: str) -> str | None:
    """A secret from the environment variable or file the settings name, or None.

    Secrets are never written in a profile: ``token_env = "SAGSINDEKS_TOKEN"`` names the
    variable. A named variable that is not set, or a file that cannot be read, is an
    error naming the setting and the variable or file, never the secret.
    """
    if env:
        value = os.environ.get(env)
        if not value:
            raise ValueError(f"the environment variable {env} (named by {setting}_env) is not set")
        return value
    if file:
        try:
            text = Path(file).read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ValueError(
                f"cannot read the file {file} (named by {setting}_file): {reason}"
            ) from None
        if not text:
            raise ValueError(f"the file {file} (named by {setting}_file) is empty")
        return text
    return None


def subject_values(subject: Subject) -> dict[str, str]:
    return {"{cpr}": subject.cpr.digits, "{cpr_dashed}": str(subject.cpr)}


def template_problem(template: str) -> str | None:
    """Why ``template`` is not a valid subject template (only known placeholders), or None."""
    rest = template
    for placeholder in SUBJECT_PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if "{" in rest or "}" in rest:
        return "the only placeholders are {cpr} and {cpr_dashed}"
    return None


def fill_template(template: str, values: Mapping[str, str]) -> str:
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template
