"""Refills: asked for a finished order of a refillable service, done on the clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._order import COMPLETED, IN_PROGRESS, PARTIAL, PENDING, OrderRecord
from ._state import Refusal

if TYPE_CHECKING:
    from ._state import Account

__all__ = ["REFILL_SECONDS", "RefillBook"]

REFILL_PENDING_SECONDS = 5.0
"""How long a new refill stays pending, in simulated seconds."""
REFILL_SECONDS = 30.0
"""How long a refill stays in progress before it completes."""


@dataclass(slots=True)
class _Refill:
    id: int
    order_id: int
    account: Account
    created_at: float

    def status(self, now: float) -> str:
        age = now - self.created_at
        if age < REFILL_PENDING_SECONDS:
            return PENDING
        if age < REFILL_PENDING_SECONDS + REFILL_SECONDS:
            return IN_PROGRESS
        return COMPLETED


class RefillBook:
    """Every refill of the panel, with the rules real panels apply to them."""

    def __init__(self) -> None:
        self._refills: dict[int, _Refill] = {}
        self._latest: dict[int, _Refill] = {}

    def request(self, account: Account, order: OrderRecord | None, now: float) -> int:
        """Refill `order` and return the refill's id, or raise `Refusal`."""
        if order is None or order.account is not account:
            raise Refusal("Incorrect order ID")
        if not order.service.refill:
            raise Refusal("Refill is disabled for this service")
        status, _ = order.progress(now)
        if order.canceled or status not in (COMPLETED, PARTIAL):
            raise Refusal("Order not eligible for refill.")
        latest = self._latest.get(order.id)
        if latest is not None and latest.status(now) != COMPLETED:
            raise Refusal("A refill of this order is already in progress")
        refill = _Refill(len(self._refills) + 1, order.id, account, now)
        self._refills[refill.id] = refill
        self._latest[order.id] = refill
        return refill.id

    def status(self, account: Account, refill_id: int | None, now: float) -> str:
        """Return where a refill stands (pending, in progress, completed)."""
        refill = None if refill_id is None else self._refills.get(refill_id)
        if refill is None or refill.account is not account:
            raise Refusal("Refill not found")
        return refill.status(now)
