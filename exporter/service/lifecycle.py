"""The request lifecycle: its states and the only transitions allowed between them.

::

    received ──▶ collecting ──▶ assembling ──▶ ready
        │            │              │      └─▶ ready_with_gaps ──▶ collecting (a source retried)
        │            │              ├────────▶ failed ──────────▶ collecting (a source retried)
        │            │              └────────▶ collecting (a source's staged data was gone)
        └────────────┴──────────────┴────────▶ cancelled
    ready, ready_with_gaps ──▶ expired (the package's retention ran out; it is deleted)

A transition is a compare-and-set on the stored state, so two workers racing to move
the same request cannot both succeed, and every successful one is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from exporter.errors import EgneDataError

__all__ = [
    "ACTIVE",
    "FINISHED",
    "IllegalTransition",
    "RequestState",
    "TaskState",
    "check_transition",
]


class RequestState(StrEnum):
    RECEIVED = "received"
    COLLECTING = "collecting"
    ASSEMBLING = "assembling"
    READY = "ready"
    READY_WITH_GAPS = "ready_with_gaps"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = RequestState
TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = {
    S.RECEIVED: frozenset({S.COLLECTING, S.CANCELLED}),
    S.COLLECTING: frozenset({S.ASSEMBLING, S.CANCELLED}),
    S.ASSEMBLING: frozenset({S.READY, S.READY_WITH_GAPS, S.FAILED, S.CANCELLED,
                             S.COLLECTING}),
    S.READY: frozenset({S.EXPIRED}),
    S.READY_WITH_GAPS: frozenset({S.EXPIRED, S.COLLECTING}),
    S.FAILED: frozenset({S.COLLECTING, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
ACTIVE = frozenset({S.RECEIVED, S.COLLECTING, S.ASSEMBLING})
"""States in which work is still to be done."""
FINISHED = frozenset({S.READY, S.READY_WITH_GAPS, S.FAILED, S.CANCELLED, S.EXPIRED})


class IllegalTransition(EgneDataError):
    """A request (or a flag) cannot move from its current state to the one asked for."""

    def __init__(self, current: str, wanted: str, what: str = "request") -> None:
        super().__init__(f"a {what} that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: str, wanted: RequestState) -> None:
    if wanted not in TRANSITIONS.get(RequestState(current), frozenset()):
        raise IllegalTransition(current, wanted.value)
