"""The typed answers of `refill()` and `refill_status()`."""

from __future__ import annotations

import enum

import msgspec

from ._models import status_words

__all__ = ["RefillResult", "RefillState", "RefillStatus", "parse_refill_state"]


class RefillState(enum.StrEnum):
    """
    Where a refill stands, whatever the panel's spelling.

    `RefillStatus.raw_status` keeps the panel's own text; a spelling this
    package does not recognise becomes `UNKNOWN` instead of failing.
    """

    PENDING = "pending"
    IN_PROGRESS = "in progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True for states a refill never leaves."""
        return self in _FINAL

    @classmethod
    def parse(cls, raw: str) -> RefillState:
        """Map a panel's refill status text (`"In progress"`, `"Rejected"`)."""
        return parse_refill_state(raw)


_FINAL = frozenset({RefillState.COMPLETED, RefillState.REJECTED, RefillState.CANCELED})

# Spellings seen on panels of the family, after `status_words`.
_SPELLINGS: dict[str, RefillState] = {
    "pending": RefillState.PENDING,
    "awaiting": RefillState.PENDING,
    "queued": RefillState.PENDING,
    "in progress": RefillState.IN_PROGRESS,
    "inprogress": RefillState.IN_PROGRESS,
    "processing": RefillState.IN_PROGRESS,
    "completed": RefillState.COMPLETED,
    "complete": RefillState.COMPLETED,
    "success": RefillState.COMPLETED,
    "refilled": RefillState.COMPLETED,
    "rejected": RefillState.REJECTED,
    "refused": RefillState.REJECTED,
    "declined": RefillState.REJECTED,
    "canceled": RefillState.CANCELED,
    "cancelled": RefillState.CANCELED,
}


def parse_refill_state(raw: str) -> RefillState:
    """The state a refill status text names; what `RefillState.parse` does."""
    text = status_words(raw)
    state = _SPELLINGS.get(text)
    if state is None and text.startswith("refill "):
        state = _SPELLINGS.get(text[len("refill ") :])
    return state or RefillState.UNKNOWN


class RefillResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A refill the panel accepted for an order, as answered by `refill()`."""

    order_id: int
    refill_id: int
    """The id to follow with `refill_status()`."""


class RefillStatus(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where one refill stands, as answered by `refill_status()`."""

    refill_id: int
    status: RefillState
    raw_status: str
    """The status exactly as the panel spelled it."""

    @property
    def is_final(self) -> bool:
        """True once the refill cannot change any more."""
        return self.status in _FINAL
