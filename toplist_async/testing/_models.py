"""The fake panel's public records: catalogue services, order snapshots, log entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["DEFAULT_SERVICES", "Order", "RequestRecord", "Service"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """One catalogue entry, answered by `services` and priced by `add`.

    `rate` is the price of 1000 units; `cancel=False` makes `cancel` refuse the
    service's orders.
    """

    service: int
    name: str
    rate: Decimal
    min: int
    max: int
    type: str = "Default"
    category: str = "Votes"
    refill: bool = False
    cancel: bool = True


DEFAULT_SERVICES: tuple[Service, ...] = (
    Service(service=1, name="Votes", rate=Decimal("10.0"), min=10, max=50000),
    Service(
        service=2,
        name="Votes, slow drip (no cancel)",
        rate=Decimal("0.27819"),
        min=100,
        max=100000,
        cancel=False,
    ),
    Service(
        service=3,
        name="Premium votes",
        rate=Decimal("12.34567"),
        min=1,
        max=10000,
        refill=True,
    ),
    Service(
        service=4,
        name="Custom comments",
        type="Custom Comments",
        category="Comments",
        rate=Decimal("0.9"),
        min=1,
        max=1000,
    ),
)
"""The catalogue a `FakePanel` serves when given no `services`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """An order as the panel sees it at the moment it was read.

    `status` is always the document's lowercase spelling (`pending`, `in progress`,
    `completed`, `partial`, `canceled`), whatever `status_style` puts on the wire.
    `account` is an opaque account id, never the API key. `extra` holds the
    optional fields the request carried (`interval`, `runs`, `comments`, ...) as
    received, newlines included.
    """

    id: int
    account: str
    service: int
    link: str
    quantity: int
    status: str
    start_count: int
    remains: int
    charge: Decimal
    created_at: float
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """One request the panel received, for assertions in tests.

    `action` is None when the body named none (or the path was wrong). `orders`
    holds the order ids the request named, or the id an `add` created. `status`
    is the HTTP status answered, None when a fault dropped the connection.
    `fault` is the injected fault's kind, if any. `at` is `time.monotonic()` when
    the request arrived. The API key is never recorded.
    """

    action: str | None
    orders: tuple[int, ...]
    status: int | None
    fault: str | None
    account: str | None
    at: float
