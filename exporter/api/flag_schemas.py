"""The API's schemas for flags and contributions: what citizens and caseworkers send and
get back. Separate from the storage models; a citizen's view never holds a CPR number,
a caseworker's holds it masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from exporter.cpr import Cpr
from exporter.db.models import Contribution, Evidence, Flag
from exporter.flags import COMPLAINT, OPEN, FlagState, NoticeView
from exporter.flags.records import for_staff

__all__ = [
    "ContributionCreate",
    "ContributionPublic",
    "EvidencePublic",
    "FlagCaseworker",
    "FlagCreate",
    "FlagDecision",
    "FlagExtension",
    "FlagPublic",
    "contribution_public",
    "flag_caseworker",
    "flag_public",
]

Statement = Annotated[str, StringConstraints(min_length=3, max_length=4000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagCreate(_Strict):
    """What is wrong with one record (or one field of it) in one of your packages."""

    package_id: Id
    record_id: RecordId
    wrong: Statement
    right: Annotated[str, StringConstraints(max_length=4000)] | None = None
    field: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None


class FlagDecision(_Strict):
    outcome: Literal["corrected", "annotated", "rejected"]
    answer: Annotated[str, StringConstraints(min_length=10, max_length=4000)]


class FlagExtension(_Strict):
    months: int = Field(ge=1, le=2)
    reason: Annotated[str, StringConstraints(min_length=10, max_length=2000)]


class StatementPublic(BaseModel):
    at: datetime
    by_role: str
    wrong: str
    right: str | None


class EvidencePublic(BaseModel):
    id: str
    media_type: str
    size: int
    filename: str
    uploaded_at: datetime


class NoticePublic(BaseModel):
    service: str
    state: str
    created_at: datetime
    finished_at: datetime | None


class FlagPublic(BaseModel):
    id: str
    record_id: str
    field: str | None
    package_id: str
    dataset_id: str
    state: str
    disputed: bool = Field(description="The record is disputed (Art. 18) while the flag is "
                                       "open.")
    received_at: datetime
    deadline: date
    extended_deadline: date | None
    extension_reason: str | None
    statements: list[StatementPublic]
    evidence: list[EvidencePublic]
    answer: str | None
    decided_at: datetime | None
    complaint: dict[str, str] | None = Field(
        description="How to complain (Art. 12(4)), when the flag was rejected.")
    notices: list[NoticePublic] = Field(
        description="The services told that the record was corrected (Art. 19).")


class FlagCaseworker(FlagPublic):
    subject: str = Field(description="The citizen's CPR number, masked (DDMMYY-xxxx).")
    record: dict[str, Any] = Field(description="The record as the package showed it.")
    assigned_to: str | None
    created_by_role: str


def _evidence(rows: list[Evidence]) -> list[EvidencePublic]:
    return [EvidencePublic(id=e.id, media_type=e.media_type, size=e.size, filename=e.filename,
                           uploaded_at=e.uploaded_at) for e in rows]


def _flag_fields(flag: Flag, notices: list[NoticeView]) -> dict[str, Any]:
    return {
        "id": flag.id, "record_id": flag.record_id, "field": flag.field,
        "package_id": flag.package_id, "dataset_id": flag.dataset_id, "state": flag.state,
        "disputed": FlagState(flag.state) in OPEN, "received_at": flag.received_at,
        "deadline": flag.effective_deadline, "extended_deadline": flag.extended_deadline,
        "extension_reason": flag.extension_reason,
        "statements": [StatementPublic(at=s.at, by_role=s.author_role, wrong=s.wrong,
                                       right=s.right) for s in flag.statements],
        "evidence": _evidence(flag.evidence), "answer": flag.answer,
        "decided_at": flag.decided_at,
        "complaint": COMPLAINT if flag.state == FlagState.REJECTED else None,
        "notices": [NoticePublic(service=n.service, state=n.state, created_at=n.created_at,
                                 finished_at=n.finished_at) for n in notices],
    }


def flag_public(flag: Flag, notices: list[NoticeView]) -> FlagPublic:
    return FlagPublic(**_flag_fields(flag, notices))


def flag_caseworker(flag: Flag, notices: list[NoticeView]) -> FlagCaseworker:
    return FlagCaseworker(**_flag_fields(flag, notices), subject=Cpr(flag.subject_cpr).masked,
                          record=for_staff(flag.record), assigned_to=flag.assigned_to,
                          created_by_role=flag.created_by_role)


class ContributionCreate(_Strict):
    """Information of your own: a statement, a correction of your own account, or a
    document (send the file afterwards to ``…/documents``)."""

    kind: Literal["statement", "correction", "document"]
    title: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    text: Annotated[str, StringConstraints(min_length=3, max_length=8000)]
    about: RecordId | None = Field(default=None,
                                   description="The @id of the case or record it is about.")


class ContributionPublic(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    about: str | None
    created_at: datetime
    seen: bool = Field(description="Whether a caseworker has seen it.")
    withdrawn_at: datetime | None
    documents: list[EvidencePublic]


def contribution_public(row: Contribution) -> ContributionPublic:
    return ContributionPublic(id=row.id, kind=row.kind, title=row.title, text=row.text,
                              about=row.about, created_at=row.created_at,
                              seen=row.seen_at is not None, withdrawn_at=row.withdrawn_at,
                              documents=_evidence(row.evidence))
