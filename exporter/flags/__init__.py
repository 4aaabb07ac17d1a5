"""Acting on your data: flags on records (GDPR Art. 16, 18), the citizen's own
contributions, evidence, and telling recipients of corrections (Art. 19).

Beside :mod:`exporter.delivery`: above the service, below the API and the pages, which
both call these functions.
"""

from __future__ import annotations

from exporter.flags.contributions import (
    KINDS,
    ContributionSpec,
    InvalidContribution,
    add_contribution,
    add_contribution_evidence,
    get_contribution,
    list_contributions,
    mark_seen,
    unseen_contributions,
    unseen_count,
    withdraw_contribution,
)
from exporter.flags.evidence import EvidenceRefused, EvidenceTooLarge, read_evidence
from exporter.flags.flags import (
    FlagSpec,
    InvalidFlag,
    add_flag_evidence,
    decide_flag,
    disputed_records,
    extend_flag,
    flag_queue,
    get_flag,
    in_units,
    list_flags,
    raise_flag,
    take_flag,
    withdraw_flag,
)
from exporter.flags.notices import NoticeView, flag_notices, record_recipients
from exporter.flags.records import FoundRecord, find_record
from exporter.flags.states import COMPLAINT, DECISIONS, OPEN, FlagState

__all__ = [
    "COMPLAINT",
    "DECISIONS",
    "KINDS",
    "OPEN",
    "ContributionSpec",
    "EvidenceRefused",
    "EvidenceTooLarge",
    "FlagSpec",
    "FlagState",
    "FoundRecord",
    "InvalidContribution",
    "InvalidFlag",
    "NoticeView",
    "add_contribution",
    "add_contribution_evidence",
    "add_flag_evidence",
    "decide_flag",
    "disputed_records",
    "extend_flag",
    "find_record",
    "flag_notices",
    "flag_queue",
    "get_contribution",
    "get_flag",
    "in_units",
    "list_contributions",
    "list_flags",
    "mark_seen",
    "raise_flag",
    "read_evidence",
    "record_recipients",
    "take_flag",
    "unseen_contributions",
    "unseen_count",
    "withdraw_contribution",
    "withdraw_flag",
]
