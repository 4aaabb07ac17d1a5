"""Reference data shipped with the exporter: municipalities, KLE, DPV terms."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["dpv", "kle", "kommuner"]


def _load(name: str) -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(
        resources.files(__name__).joinpath(name).read_text("utf-8")
    )
    return data


@functools.cache
def kommuner() -> Mapping[str, str]:
    """The 98 municipalities: kommunekode (4 digits) to name."""
    return {k["code"]: k["name"] for k in _load("kommuner.json")["kommuner"]}


@functools.cache
def kle() -> Mapping[str, Any]:
    """A subset of KLE: hovedgrupper, grupper, emner and handlingsfacetter."""
    return _load("kle.json")


@functools.cache
def dpv() -> Mapping[str, Any]:
    """DPV personal-data categories and GDPR legal bases, with Danish/English labels."""
    return _load("dpv_pd.json")
