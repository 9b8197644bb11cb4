"""One order's life: pending, in progress, then completed, partial or canceled."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from ._models import Order, Service

if TYPE_CHECKING:
    from ._state import Account

__all__ = [
    "CANCELED",
    "COMPLETED",
    "IN_PROGRESS",
    "PARTIAL",
    "PENDING",
    "PENDING_SECONDS",
    "UNITS_PER_SECOND",
    "OrderRecord",
]

PENDING = "pending"
IN_PROGRESS = "in progress"
COMPLETED = "completed"
PARTIAL = "partial"
CANCELED = "canceled"

PENDING_SECONDS = 5.0
"""How long a new order stays pending, in simulated seconds."""
UNITS_PER_SECOND = 50.0
"""How fast an order in progress delivers."""


class OrderRecord:
    """One order's fixed facts, from which its progress at any time follows."""

    __slots__ = (
        "account",
        "canceled",
        "created_at",
        "delivery",
        "end",
        "extra",
        "id",
        "link",
        "price",
        "quantity",
        "service",
        "start_count",
        "starts_at",
        "stop_share",
        "stop_units",
    )

    def __init__(
        self,
        *,
        order_id: int,
        account: Account,
        service: Service,
        link: str,
        quantity: int,
        extra: Mapping[str, object],
        created_at: float,
        delivery: float,
        start_count: int,
        stop_share: float | None,
    ) -> None:
        self.id = order_id
        self.account = account
        self.service = service
        self.link = link
        self.quantity = quantity
        self.extra = extra
        self.created_at = created_at
        self.starts_at = created_at + PENDING_SECONDS
        self.delivery = delivery
        self.start_count = start_count
        self.stop_share = stop_share
        self.stop_units = (
            0 if stop_share is None else max(1, int(quantity * stop_share))
        )
        self.price = service.rate * quantity / 1000
        self.canceled = False
        # Set once the order can no longer move: by a cancel, or when a planned
        # partial is settled (and refunded).
        self.end: tuple[str, int] | None = None

    def progress(self, now: float) -> tuple[str, int]:
        """Return the status and the units delivered at simulated time `now`."""
        if self.end is not None:
            return self.end
        if now < self.starts_at:
            return PENDING, 0
        share = (now - self.starts_at) / self.delivery
        if self.stop_share is not None and share >= self.stop_share:
            return PARTIAL, self.stop_units
        if share >= 1:
            return COMPLETED, self.quantity
        return IN_PROGRESS, int(self.quantity * share)

    def charge_for(self, status: str, delivered: int) -> Decimal:
        """Return what the order costs once it ended with `delivered` units."""
        if status in (PARTIAL, CANCELED):
            return self.service.rate * delivered / 1000
        return self.price

    def view(self, now: float) -> tuple[str, int, int, Decimal]:
        """Return status, start_count, remains and charge at `now`."""
        status, delivered = self.progress(now)
        start_count = 0 if status == PENDING else self.start_count
        charge = self.charge_for(status, delivered)
        return status, start_count, self.quantity - delivered, charge

    def snapshot(self, now: float) -> Order:
        """Return the public, read-only picture of this order at `now`."""
        status, start_count, remains, charge = self.view(now)
        return Order(
            id=self.id,
            account=self.account.id,
            service=self.service.service,
            link=self.link,
            quantity=self.quantity,
            status=status,
            start_count=start_count,
            remains=remains,
            charge=charge,
            created_at=self.created_at,
            extra=dict(self.extra),
        )
