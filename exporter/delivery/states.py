"""A delivery's states and the only transitions allowed between them.

::

    pending ──▶ sending ──▶ delivered
       ▲           │ └────▶ dead_letter (last attempt failed, or refused for good)
       │           └──────▶ retry_wait ──▶ sending ...
       └── dead_letter (retried by a caseworker or the citizen)
    pending, sending, retry_wait ──▶ cancelled (consent revoked or expired, mandate
                                     ended, service suspended, or cancelled by hand)
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = ["OPEN", "DeliveryState", "can_move"]


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    RETRY_WAIT = "retry_wait"
    DELIVERED = "delivered"
    DEAD_LETTER = "dead_letter"
    CANCELLED = "cancelled"


D = DeliveryState
_MOVES: Mapping[DeliveryState, frozenset[DeliveryState]] = {
    D.PENDING: frozenset({D.SENDING, D.CANCELLED}),
    D.SENDING: frozenset({D.SENDING, D.DELIVERED, D.RETRY_WAIT, D.DEAD_LETTER, D.CANCELLED}),
    D.RETRY_WAIT: frozenset({D.SENDING, D.CANCELLED}),
    D.DELIVERED: frozenset(),
    D.DEAD_LETTER: frozenset({D.PENDING}),
    D.CANCELLED: frozenset(),
}
OPEN = frozenset({D.PENDING, D.SENDING, D.RETRY_WAIT})
"""States in which the delivery may still send bytes."""


def can_move(current: str, wanted: DeliveryState) -> bool:
    return wanted in _MOVES.get(DeliveryState(current), frozenset())
