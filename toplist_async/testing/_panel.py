"""`FakePanel`: a real HTTP server that speaks the toplistbot SMM API v2."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from types import TracebackType

from aiohttp import web

from .._dialect import Dialect
from ._actions import Actions
from ._clock import SimClock
from ._faults import Fault, Faults, parse_faults
from ._models import DEFAULT_SERVICES, Order, RequestRecord, Service
from ._server import Handler
from ._state import Account, PanelState
from ._throttle import Throttle
from ._wire import Wire

__all__ = ["FakePanel"]


class _Orders(Mapping[int, Order]):
    """Read-only view of every order, each read as it stands right now."""

    def __init__(self, state: PanelState) -> None:
        self._state = state

    def __getitem__(self, order_id: int) -> Order:
        record = self._state.orders[order_id]
        return record.snapshot(self._state.settle())

    def __iter__(self) -> Iterator[int]:
        return iter(self._state.orders)

    def __len__(self) -> int:
        return len(self._state.orders)


class FakePanel:
    """A stateful fake toplistbot panel on 127.0.0.1, for tests, demos and benchmarks.

    ```python
    async with FakePanel(numbers_as_strings=True) as base_url:
        ...  # point the client at base_url, e.g. http://127.0.0.1:54321/api/v2
    ```

    Accounts: every distinct key (body `key` or `Authorization: Bearer`) is its
    own account starting with `balance`; with `api_key` set only that key gets
    in. `seed_orders` pre-creates that many paid orders, ids 1..N, on
    `seed_orders_key` (default: `api_key` if set, else "test-key").

    Orders follow a simulated clock (`clock`, `advance()`; it also runs at
    `speed` simulated seconds per real second, 0 freezes it). An order is
    pending for 5 s, then in progress delivering 50 units a second (an
    `interval` adds `interval` * max(`runs` - 1, 1) minutes), then completed.
    A share `partial_rate` of orders, drawn from `seed`, stops early as partial.
    `charge` is rate * quantity / 1000, exact, debited at `add`; a partial
    order is charged for what it delivered and refunded the rest when it
    ends. `cancel` refunds what was not delivered: the order ends canceled if
    nothing was delivered, partial otherwise. `refill` accepts a completed or
    partial order of a service with `refill=True`, one refill at a time; a
    refill is pending for 5 s, in progress for 30 s, then completed.

    Dialects: `numbers_as_strings` writes every number as a string;
    `status_style` is "document", "perfectpanel" or "mixed"; `errors_with_200`
    answers API errors with HTTP 200 and `{"error": ...}`; `foreign_order_mode`
    decides whether another account's id in `status` fails the whole request
    ("whole_request", 403) or only that id ("per_order"). `rate_limit` allows
    each key that many requests in any minute. `dialect` (a client
    `Dialect`) makes the panel read requests as a panel of that dialect does:
    the key from `key_field`, renamed actions, a lone id only in its
    `one_id_fields` field and several only under `many_actions` (other
    spellings get `{"error": "order id(s) required"}`). `form_only` reads form
    bodies only, as PHP panels do: a JSON body arrives empty, keyless.
    `faults` (a `parse_faults()` spec or `Fault` rules) and `panel.faults`
    inject failures, drawn from `seed`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        balance: Decimal = Decimal("1000"),
        currency: str = "USD",
        services: Sequence[Service] | None = None,
        numbers_as_strings: bool = False,
        status_style: str = "document",
        errors_with_200: bool = False,
        foreign_order_mode: str = "whole_request",
        rate_limit: int | None = None,
        speed: float = 1.0,
        seed: int = 0,
        partial_rate: float = 0.1,
        host: str = "127.0.0.1",
        port: int = 0,
        seed_orders: int = 0,
        seed_orders_key: str | None = None,
        faults: str | Iterable[Fault] = (),
        dialect: Dialect | None = None,
        form_only: bool = False,
    ) -> None:
        self._clock = SimClock(speed)
        self._state = PanelState(
            services=DEFAULT_SERVICES if services is None else services,
            balance=balance,
            api_key=api_key,
            clock=self._clock,
            seed=seed,
            partial_rate=partial_rate,
        )
        wire = Wire(
            numbers_as_strings=numbers_as_strings,
            status_style=status_style,
            errors_with_200=errors_with_200,
        )
        actions = Actions(
            self._state, wire, currency=currency, foreign_order_mode=foreign_order_mode
        )
        self.faults = Faults(seed)
        """The fault rules; add and clear them at any time."""
        self.faults.extend(parse_faults(faults) if isinstance(faults, str) else faults)
        self._handler = Handler(
            state=self._state,
            wire=wire,
            actions=actions,
            faults=self.faults,
            throttle=None if rate_limit is None else Throttle(rate_limit),
            dialect=dialect,
            form_only=form_only,
        )
        self.orders: Mapping[int, Order] = _Orders(self._state)
        """Every order by id, read at the current simulated time."""
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        if seed_orders:
            owner = self._account(seed_orders_key or api_key or "test-key")
            self._state.seed(owner, seed_orders)

    def __repr__(self) -> str:
        where = self._base_url or "not started"
        return f"<FakePanel {where} orders={len(self._state.orders)}>"

    @property
    def base_url(self) -> str:
        """The API URL, `http://127.0.0.1:PORT/api/v2`, once started."""
        if self._base_url is None:
            msg = "the panel is not started; use `async with` or `await start()`"
            raise RuntimeError(msg)
        return self._base_url

    async def start(self) -> str:
        """Start serving and return the base URL."""
        if self._runner is not None:
            msg = "the panel is already started"
            raise RuntimeError(msg)
        app = self._handler.app()
        # No access log: nothing about requests reaches logs. Handlers are
        # cancelled when clients leave, so slow faults never delay stop().
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        host, port = runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        self._runner = runner
        self._base_url = f"http://{host}:{port}/api/v2"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; state and the request log are kept. Safe to repeat."""
        runner, self._runner = self._runner, None
        self._base_url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received (in the order answered); clear it freely."""
        return self._handler.log

    @property
    def clock(self) -> float:
        """The simulated time now, in seconds since the panel was built."""
        return self._clock.now()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, e.g. to let orders complete."""
        self._clock.advance(seconds)

    def _account(self, key: str) -> Account:
        account = self._state.account(key)
        if account is None:
            msg = "this panel does not accept that key"
            raise ValueError(msg)
        return account

    def account_id(self, key: str) -> str:
        """Return the opaque account id `Order.account` uses for `key`."""
        return self._account(key).id

    def balance(self, key: str) -> Decimal:
        """Return the balance of the account `key` opens."""
        self._state.settle()
        return self._account(key).balance

    def fund(self, key: str, amount: Decimal) -> None:
        """Add money to the account `key` opens."""
        self._state.fund(self._account(key), amount)

    def reconcile(self, key: str | None = None) -> bool:
        """Check deposits - Σ charges == balance, for `key`'s account or all."""
        accounts = self._state.accounts() if key is None else [self._account(key)]
        return all(self._state.reconcile(account) for account in accounts)

    def count(self, action: str | None) -> int:
        """Count received requests for `action` (None: with no valid action)."""
        return sum(1 for record in self.requests if record.action == action)
