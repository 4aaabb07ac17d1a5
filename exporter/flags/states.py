"""A flag's lifecycle: an explicit, audited state machine like a request's.

::

    received ──▶ in_review ──▶ corrected   (the source was changed)
        │            ├───────▶ annotated   (the record stands, with the citizen's statement)
        │            ├───────▶ rejected    (with a reason and the complaint route)
        └────────────┴───────▶ withdrawn   (by the citizen)

While a flag is received or in review its record is disputed (GDPR Art. 18).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from exporter.service.lifecycle import IllegalTransition

__all__ = ["COMPLAINT", "DECISIONS", "OPEN", "FlagState", "check_flag_transition"]

COMPLAINT = {
    "da": "Er du uenig i svaret, kan du klage til Datatilsynet (www.datatilsynet.dk, "
          "dt@datatilsynet.dk) eller gå til domstolene. Det følger af "
          "databeskyttelsesforordningens artikel 12, stk. 4, og artikel 77-79.",
    "en": "If you disagree with the answer, you can complain to the Danish Data "
          "Protection Agency (www.datatilsynet.dk, dt@datatilsynet.dk) or go to the "
          "courts, under Articles 12(4) and 77 to 79 of the GDPR.",
}
"""What a citizen whose flag was rejected can do (GDPR Art. 12(4)), in both languages."""


class FlagState(StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    CORRECTED = "corrected"
    ANNOTATED = "annotated"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


F = FlagState
OPEN = frozenset({F.RECEIVED, F.IN_REVIEW})
"""States in which the record is disputed, and the flag takes more statements."""
DECISIONS = frozenset({F.CORRECTED, F.ANNOTATED, F.REJECTED})
_MOVES: Mapping[FlagState, frozenset[FlagState]] = {
    F.RECEIVED: frozenset({F.IN_REVIEW, F.WITHDRAWN}),
    F.IN_REVIEW: frozenset({*DECISIONS, F.WITHDRAWN}),
}


def check_flag_transition(current: str, wanted: FlagState) -> None:
    if wanted not in _MOVES.get(FlagState(current), frozenset()):
        raise IllegalTransition(current, wanted.value, "flag")
