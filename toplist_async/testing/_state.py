"""Accounts, orders and money: who owns what, and the rules that move money."""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ._clock import SimClock
from ._models import Service
from ._order import (
    CANCELED,
    COMPLETED,
    PARTIAL,
    PENDING_SECONDS,
    UNITS_PER_SECOND,
    OrderRecord,
)

__all__ = ["Account", "PanelState", "Refusal"]


class Refusal(Exception):
    """The panel refuses a request; `message` goes back to the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(slots=True)
class Account:
    """One API key's money and orders; `id` is opaque and safe to log."""

    id: str
    deposited: Decimal
    balance: Decimal
    orders: list[int] = field(default_factory=list)


def _digest(key: str) -> bytes:
    # Accounts are found by a hash so the state never holds a key in the clear.
    return hashlib.sha256(key.encode()).digest()


class PanelState:
    """Every account and order of one panel, and the rules that move money."""

    def __init__(
        self,
        *,
        services: Iterable[Service],
        balance: Decimal,
        api_key: str | None,
        clock: SimClock,
        seed: int,
        partial_rate: float = 0.1,
    ) -> None:
        if not 0.0 <= partial_rate <= 1.0:
            msg = f"partial_rate must be between 0 and 1, got {partial_rate!r}"
            raise ValueError(msg)
        self._partial_rate = partial_rate
        self.services = {service.service: service for service in services}
        self.orders: dict[int, OrderRecord] = {}
        self.clock = clock
        self._balance = balance
        self._only = None if api_key is None else _digest(api_key)
        self._accounts: dict[bytes, Account] = {}
        self._rng = random.Random(f"orders-{seed}")
        self._partials: list[tuple[float, int]] = []

    def account(self, key: str | None) -> Account | None:
        """Return the account `key` opens (made on first use), or None if refused."""
        if not key:
            return None
        digest = _digest(key)
        if self._only is not None and digest != self._only:
            return None
        account = self._accounts.get(digest)
        if account is None:
            number = len(self._accounts) + 1
            account = Account(f"acct-{number}", self._balance, self._balance)
            self._accounts[digest] = account
        return account

    def accounts(self) -> list[Account]:
        """Return every account opened so far."""
        return list(self._accounts.values())

    def settle(self) -> float:
        """Refund the orders that turned partial by now, and return now."""
        now = self.clock.now()
        queue = self._partials
        while queue and queue[0][0] <= now:
            order = self.orders[heapq.heappop(queue)[1]]
            if order.end is None:
                order.end = (PARTIAL, order.stop_units)
                self._refund(order, PARTIAL, order.stop_units)
        return now

    def add(
        self,
        account: Account,
        *,
        service_id: int,
        link: str,
        quantity: int,
        extra: Mapping[str, object],
        spread: float = 0.0,
        created_at: float | None = None,
    ) -> OrderRecord:
        """Create an order and debit its price, or raise `Refusal`.

        `spread` adds simulated seconds to the delivery (drip-feed intervals).
        """
        service = self.services.get(service_id)
        if service is None:
            raise Refusal("Incorrect service ID")
        if not service.min <= quantity <= service.max:
            raise Refusal("Quantity should be within min quantity to max quantity")
        rng = self._rng
        partial = quantity >= 2 and rng.random() < self._partial_rate
        order = OrderRecord(
            order_id=len(self.orders) + 1,
            account=account,
            service=service,
            link=link,
            quantity=quantity,
            extra=extra,
            created_at=self.clock.now() if created_at is None else created_at,
            delivery=max(quantity, 1) / UNITS_PER_SECOND + spread,
            start_count=rng.randrange(0, 5000),
            stop_share=rng.uniform(0.2, 0.9) if partial else None,
        )
        if order.price > account.balance:
            raise Refusal("Not enough funds")
        account.balance -= order.price
        account.orders.append(order.id)
        self.orders[order.id] = order
        if order.stop_share is not None:
            when = order.starts_at + order.delivery * order.stop_share
            heapq.heappush(self._partials, (when, order.id))
        return order

    def cancel(self, account: Account, order_id: int | None, now: float) -> Decimal:
        """Cancel an order and refund what was not delivered, or raise `Refusal`.

        An order that delivered nothing ends `canceled`; one that delivered some
        ends `partial`, charged for what it delivered.
        """
        order = None if order_id is None else self.orders.get(order_id)
        if order is None or order.account is not account:
            raise Refusal("Incorrect order ID")
        if order.canceled:
            raise Refusal("Order already canceled")
        status, delivered = order.progress(now)
        if status in (COMPLETED, PARTIAL):
            raise Refusal("Order already completed and cannot be canceled")
        if not order.service.cancel:
            raise Refusal("This service does not support cancel")
        order.canceled = True
        order.end = (PARTIAL if delivered else CANCELED, delivered)
        return self._refund(order, *order.end)

    def _refund(self, order: OrderRecord, status: str, delivered: int) -> Decimal:
        refund = order.price - order.charge_for(status, delivered)
        order.account.balance += refund
        return refund

    def seed(self, account: Account, count: int) -> None:
        """Create `count` paid orders spread over every status, for benchmarks."""
        services = list(self.services.values())
        for number in range(count):
            service = services[number % len(services)]
            quantity = min(service.max, service.min * self._rng.randint(1, 10))
            age = self._rng.uniform(
                0, PENDING_SECONDS + 2 * quantity / UNITS_PER_SECOND
            )
            # Fund each order first so the account keeps its starting balance.
            price = service.rate * quantity / 1000
            self.fund(account, price)
            created_at = self.clock.now() - age
            self.add(
                account,
                service_id=service.service,
                link=f"https://example.com/seed/{number + 1}",
                quantity=quantity,
                extra={},
                created_at=created_at,
            )

    def fund(self, account: Account, amount: Decimal) -> None:
        """Deposit `amount` into the account."""
        account.deposited += amount
        account.balance += amount

    def reconcile(self, account: Account) -> bool:
        """Check deposits - Σ current charges == balance for the account."""
        now = self.settle()
        charged = sum(
            (self.orders[order_id].view(now)[3] for order_id in account.orders),
            Decimal(0),
        )
        return account.deposited - charged == account.balance
