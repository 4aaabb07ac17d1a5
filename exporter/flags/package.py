"""What flags and contributions put into a package.

- The citizen's objections and contributions as records, for the ``own`` source's
  datasets ("Dine indsigelser", "Dine bidrag"): :func:`with_own_records`.
- Each record's flag state, shown on the record in the JSON-LD, the CSV and
  ``index.html`` (a record in review is disputed, Art. 18): :func:`flag_states`.
"""

from __future__ import annotations

from typing import Any

from exporter.db.models import Contribution, Flag
from exporter.flags.contributions import list_contributions
from exporter.flags.flags import disputed_records, list_flags
from exporter.flags.states import FlagState
from exporter.profile import SourceSettings
from exporter.service.context import ServiceContext
from formats.text import shorten

__all__ = ["FLAG_STATE_LABELS", "flag_states", "own_records", "with_own_records"]

FLAG_STATE_LABELS = {
    FlagState.RECEIVED.value: "Modtaget",
    FlagState.IN_REVIEW.value: "Under behandling",
    FlagState.CORRECTED.value: "Rettet",
    FlagState.ANNOTATED.value: "Påtegnet",
    FlagState.REJECTED.value: "Afvist",
    FlagState.WITHDRAWN.value: "Trukket tilbage",
}
"""The package's (Danish) words for a flag's state, as the record types name them."""
_LONG_TEXT = 20_000
_KIND_LABELS = {"statement": "Udtalelse", "correction": "Rettelse", "document": "Dokument"}


def _flag(flag: Flag) -> dict[str, Any]:
    # Every statement in one text, within the record type's longText (20,000): a flag
    # with many long statements is cut, not dropped from the package.
    wrong = shorten("\n\n".join(s.wrong for s in flag.statements), _LONG_TEXT)
    right = shorten("\n\n".join(s.right for s in flag.statements if s.right), _LONG_TEXT)
    record: dict[str, Any] = {
        "id": flag.id, "record": flag.record_id, "field": flag.field, "statement": wrong,
        "proposal": right or None, "state": FLAG_STATE_LABELS[flag.state],
        "receivedDate": flag.received_at.date().isoformat(),
        "deadline": flag.effective_deadline.isoformat(),
        "decidedDate": flag.decided_at.date().isoformat() if flag.decided_at else None,
        "answer": flag.answer,
    }
    return {k: v for k, v in record.items() if v is not None}


def _contribution(row: Contribution) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": row.id, "kind": _KIND_LABELS[row.kind], "title": row.title, "text": row.text,
        "about": row.about, "createdDate": row.created_at.date().isoformat(),
        "creator": "Dig" if row.created_by_role == "citizen" else "Din repræsentant",
        "documents": ", ".join(e.filename for e in row.evidence)[:500] or None,
    }
    return {k: v for k, v in record.items() if v is not None}


def own_records(context: ServiceContext, cpr_digits: str) -> dict[str, list[dict[str, Any]]]:
    """The citizen's flags and contributions as raw records of their record types."""
    return {
        "Flag": [_flag(f) for f in list_flags(context, cpr_digits)],
        "Contribution": [_contribution(c) for c in list_contributions(context, cpr_digits)],
    }


def with_own_records(context: ServiceContext, source: SourceSettings,
                     cpr_digits: str) -> SourceSettings:
    """``source`` as it is, or, for the ``own`` connector, with the citizen's records."""
    if source.connector != "own":
        return source
    return source.model_copy(update={"settings": {"records": own_records(context,
                                                                         cpr_digits)}})


def flag_states(context: ServiceContext, cpr_digits: str) -> dict[str, str]:
    """Each flagged record's id and the state its newest flag shows on it (a withdrawn
    flag shows nothing)."""
    return {record_id: FLAG_STATE_LABELS[state]
            for record_id, state in disputed_records(context, cpr_digits).items()
            if state != FlagState.WITHDRAWN.value}
