"""The typed answers of the panel: services, order statuses, balance, cancels."""

from __future__ import annotations

import enum
import re
from decimal import Decimal

import msgspec

__all__ = [
    "Balance",
    "CancelResult",
    "OrderState",
    "OrderStatus",
    "Service",
    "parse_state",
    "status_words",
]


class OrderState(enum.StrEnum):
    """
    Where an order stands, whatever the panel's spelling.

    `OrderStatus.raw_status` keeps the panel's own text; a spelling this package
    does not recognise becomes `UNKNOWN` instead of failing.
    """

    PENDING = "pending"
    IN_PROGRESS = "in progress"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL = "partial"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True for states an order never leaves."""
        return self in _FINAL_STATES

    @classmethod
    def parse(cls, raw: str) -> OrderState:
        """Map a panel's status text (`"In Progress"`, `"Cancelled"`) to a state."""
        return parse_state(raw)


_FINAL_STATES = frozenset(
    {
        OrderState.COMPLETED,
        OrderState.PARTIAL,
        OrderState.CANCELED,
        OrderState.REFUNDED,
        OrderState.FAILED,
    }
)

# Spellings seen on real panels (field notes §1.7), after casefolding and
# turning "_" and "-" into spaces: the quick way in.
_SPELLINGS: dict[str, OrderState] = {
    "pending": OrderState.PENDING,
    "awaiting": OrderState.PENDING,
    "awaiting payment": OrderState.PENDING,
    "queued": OrderState.PENDING,
    "in progress": OrderState.IN_PROGRESS,
    "inprogress": OrderState.IN_PROGRESS,
    "in progess": OrderState.IN_PROGRESS,
    "processing": OrderState.PROCESSING,
    "completed": OrderState.COMPLETED,
    "complete": OrderState.COMPLETED,
    "processed": OrderState.COMPLETED,
    "partial": OrderState.PARTIAL,
    "partially completed": OrderState.PARTIAL,
    "canceled": OrderState.CANCELED,
    "cancelled": OrderState.CANCELED,
    "refunded": OrderState.REFUNDED,
    "failed": OrderState.FAILED,
    "fail": OrderState.FAILED,
    "error": OrderState.FAILED,
}
_SEPARATORS = re.compile(r"[\s_\-]+")


def status_words(raw: str) -> str:
    """A status text casefolded, with `_`, `-` and runs of spaces as one space."""
    return _SEPARATORS.sub(" ", raw.casefold()).strip()


# Other spellings are read by their words: a word starting with one of the
# stems names the state, the first rule that matches winning ("Canceled by
# admin", "Order Cancelled"; "Partially refunded" is partial). A negation or
# a refill word names no order state; a final word beside a waiting one
# ("Cancel pending") is not final yet; a text with no known word is UNKNOWN.
_NO_STATE = ("not", "no", "never", "incomplet", "uncomplet", "refill")
_WAITING = ("pending", "queue", "await", "wait", "request")
_FINAL_WORDS: tuple[tuple[tuple[str, ...], OrderState], ...] = (
    (("partial",), OrderState.PARTIAL),
    (("refund",), OrderState.REFUNDED),
    (("cancel",), OrderState.CANCELED),
    (("fail", "error"), OrderState.FAILED),
    (("complet", "finish"), OrderState.COMPLETED),
)
_OPEN_WORDS: tuple[tuple[tuple[str, ...], OrderState], ...] = (
    (("progress", "progess", "inprogress"), OrderState.IN_PROGRESS),
    (("process",), OrderState.PROCESSING),
    (_WAITING, OrderState.PENDING),
)
_WORDS = re.compile(r"[a-z]+")


def _state_by_words(text: str) -> OrderState:
    words = _WORDS.findall(text)

    def named(stems: tuple[str, ...]) -> bool:
        return any(word.startswith(stems) for word in words)

    if named(_NO_STATE):
        return OrderState.UNKNOWN
    for stems, state in _FINAL_WORDS:
        if named(stems):
            return OrderState.UNKNOWN if named(_WAITING) else state
    for stems, state in _OPEN_WORDS:
        if named(stems):
            return state
    return OrderState.UNKNOWN


# Spellings met so far, as the panel wrote them. Bounded in count and in the
# length of each (real spellings are a few words), as a panel is free to send
# any text at all: at most 1024 * 64 characters stay for the process's life.
_SEEN_SPELLINGS: dict[str, OrderState] = {}
_MAX_SEEN_SPELLINGS = 1024
_MAX_SEEN_SPELLING_CHARS = 64


def parse_state(raw: str) -> OrderState:
    """The state a status text names; what `OrderState.parse` does."""
    state = _SEEN_SPELLINGS.get(raw)
    if state is not None:
        return state
    text = status_words(raw)
    state = _SPELLINGS.get(text)
    if state is None and text.startswith("order "):
        state = _SPELLINGS.get(text[len("order ") :])
    state = state or _state_by_words(text)
    if (
        len(raw) <= _MAX_SEEN_SPELLING_CHARS
        and len(_SEEN_SPELLINGS) < _MAX_SEEN_SPELLINGS
    ):
        _SEEN_SPELLINGS[raw] = state
    return state


# The models hold only numbers, strings and enums: they can never be part of a
# reference cycle, so `gc=False` keeps them out of the cyclic collector's work.


class Service(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One service of the panel's catalogue, as listed by `services()`."""

    service: int
    """The id to pass to `add(service=...)`."""
    name: str
    type: str
    """Decides which fields `add` needs ("Default", "Custom Comments", ...)."""
    category: str
    rate: Decimal
    """Price per 1000 units, in the account's currency."""
    min: int
    """Smallest quantity an order may have."""
    max: int
    """Largest quantity an order may have."""
    refill: bool = False
    cancel: bool = False
    """Whether orders of this service can be cancelled."""


class OrderStatus(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The state of one order, as answered by `status()`."""

    order_id: int
    charge: Decimal | None
    """What the order cost, or None when the panel did not say."""
    start_count: int | None
    """The counter of the target when the order started, when known."""
    status: OrderState
    raw_status: str
    """The status exactly as the panel spelled it."""
    remains: int | None
    """Units still to deliver; None when the panel does not know ("Unknown")."""
    currency: str | None

    @property
    def is_final(self) -> bool:
        """True once the order cannot change any more (completed, canceled, ...)."""
        return self.status in _FINAL_STATES


class Balance(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The account's balance, as answered by `balance()`."""

    balance: Decimal
    currency: str


class CancelResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """
    A cancel the panel accepted, as answered by `cancel()`.

    Accepted means asked for: poll `status()` to see the order end as canceled.
    """

    order_id: int
    refund: Decimal | None
    """The money returned, when the panel says (toplistbot does)."""
    status: str | None = None
    """The panel's word on the cancel, when it gives one (`"Canceled"`)."""
