"""Following many orders until they finish, each polled on its own schedule."""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypedDict

from ._arguments import order_id
from ._exceptions import ClientClosedError, OrderError, ToplistError
from ._models import OrderState, OrderStatus

if TYPE_CHECKING:
    from ._client import ToplistClient

__all__ = ["OrderTracker", "TrackerOptions"]

logger = logging.getLogger("toplist_async")

Update = OrderStatus | OrderError
_END = object()
_POLL_SHARE = 100


class TrackerOptions(TypedDict, total=False):
    """The keyword options of `OrderTracker`, as `client.watch()` takes them."""

    interval: float
    growth: float
    max_interval: float
    first_poll: float
    on_error: Callable[[BaseException, list[int]], None]
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


class _Order:
    """What the tracker remembers of one order: small, for 100,000 of them."""

    __slots__ = ("due", "interval", "polling", "seen")

    def __init__(self, due: float, interval: float) -> None:
        self.due = due
        self.interval = interval
        self.polling = False
        self.seen: tuple[OrderState, int | None, int | None] | None = None


def _log_error(error: BaseException, orders: list[int]) -> None:
    logger.warning(
        "status of %d tracked orders failed (%s: %s); polling them later",
        len(orders),
        type(error).__name__,
        error,
    )


class OrderTracker:
    """
    Polls orders until they are final and reports every change.

    Each order has its own next poll: at once when tracked, then after
    `interval` seconds, growing by `growth` each time nothing changed, up to
    `max_interval`; a change resets it. Orders due together go out together
    through the client's batcher, 100 ids a request.

    Iterate over the tracker for updates: an order's first status, then each
    change of its status, `remains` or `start_count`; a refused id comes as its
    `OrderError` and is dropped. `await tracker.wait(id)` returns an order's
    final status. A status request that fails after its retries does not end
    tracking: its orders are polled later and `on_error(error, order_ids)` is
    called (by default, a warning is logged). With `stop_when_idle` (what
    `client.watch()` uses) iteration ends when no order is left; otherwise
    updates are kept only once iteration has begun, and it ends at `aclose()`.
    `clock` and `sleep` exist for tests.
    """

    def __init__(
        self,
        client: ToplistClient,
        orders: Iterable[int] = (),
        *,
        interval: float = 5.0,
        growth: float = 1.5,
        max_interval: float = 300.0,
        first_poll: float = 0.0,
        stop_when_idle: bool = False,
        on_error: Callable[[BaseException, list[int]], None] = _log_error,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < interval <= max_interval or growth < 1 or first_poll < 0:
            msg = "need 0 < interval <= max_interval, growth >= 1 and first_poll >= 0"
            raise ValueError(msg)
        if client._closed:
            msg = "the client is closed"
            raise ClientClosedError(msg)
        self._statuses = client._statuses
        client._trackers.add(self)
        self._interval = interval
        self._growth = growth
        self._max_interval = max_interval
        self._first_poll = first_poll
        self._stop_when_idle = stop_when_idle
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self._orders: dict[int, _Order] = {}
        self._heap: list[tuple[float, int]] = []
        self._waiters: dict[int, list[asyncio.Future[OrderStatus]]] = {}
        # Kept from the start only for `watch()`; a long-lived tracker keeps
        # updates once iterated, so a wait()-only user does not pile them up.
        self._updates: asyncio.Queue[object] | None = (
            asyncio.Queue() if stop_when_idle else None
        )
        self._ended = False
        self._wake = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._polls: set[asyncio.Task[None]] = set()
        self._closed = False
        for order in orders:
            self.track(order)

    @property
    def tracked(self) -> int:
        """How many orders are being followed."""
        return len(self._orders)

    def track(self, order: int) -> None:
        """Start following an order (a no-op if it is followed already)."""
        if self._closed:
            msg = "the tracker is closed"
            raise ClientClosedError(msg)
        key = order_id(order)
        if key not in self._orders:
            due = self._clock() + self._first_poll
            self._orders[key] = _Order(due, self._interval)
            heapq.heappush(self._heap, (due, key))
            self._wake.set()
            self._start()

    def untrack(self, order: int) -> None:
        """Stop following an order; its `wait()` callers get a `ToplistError`."""
        key = order_id(order)
        if self._orders.pop(key, None) is not None:
            self._settle(key, ToplistError(f"order {key} is no longer tracked"))
            self._wake.set()

    async def wait(self, order: int) -> OrderStatus:
        """Follow `order` (if not yet) and return its final status."""
        key = order_id(order)
        self.track(key)
        future: asyncio.Future[OrderStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, []).append(future)
        return await future

    def __aiter__(self) -> AsyncIterator[Update]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Update]:
        if self._updates is None:
            if self._ended:
                return
            self._updates = asyncio.Queue()
        self._start()
        try:
            while True:
                item = await self._updates.get()
                if item is _END:
                    return
                yield item  # type: ignore[misc]
        finally:
            if self._stop_when_idle:
                # A `watch()` left early (break, exception) stops polling.
                await self.aclose()

    async def __aenter__(self) -> Self:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop polling; `wait()` callers get `ClientClosedError`. Idempotent."""
        if self._closed:
            return
        tasks = [*self._polls, *([self._scheduler] if self._scheduler else [])]
        self._shut(ClientClosedError("the tracker was closed"))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _shut(self, error: ClientClosedError) -> None:
        self._closed = True
        if self._scheduler is not None:
            self._scheduler.cancel()  # it would sleep on, with nothing to poll
        for key in list(self._waiters):
            self._settle(key, error)
        self._orders.clear()
        self._heap.clear()
        self._end_updates()

    def _end_updates(self) -> None:
        self._ended = True
        if self._updates is not None:
            self._updates.put_nowait(_END)

    def _start(self) -> None:
        # A watch that ended (all orders final) starts again for a new order.
        idle = self._scheduler is None or self._scheduler.done()
        if idle and not self._closed:
            self._scheduler = asyncio.get_running_loop().create_task(self._schedule())

    async def _schedule(self) -> None:
        while True:
            now = self._clock()
            due: list[int] = []
            while self._heap and self._heap[0][0] <= now:
                when, key = heapq.heappop(self._heap)
                entry = self._orders.get(key)
                if entry is not None and entry.due == when and not entry.polling:
                    entry.polling = True
                    due.append(key)
            # One poll per batch-sized share: each reports as soon as its
            # request is answered, not after the whole round.
            for start in range(0, len(due), _POLL_SHARE):
                share = due[start : start + _POLL_SHARE]
                poll = asyncio.get_running_loop().create_task(self._poll(share))
                self._polls.add(poll)
                poll.add_done_callback(self._poll_done)
            if (
                not due
                and self._stop_when_idle
                and not self._orders
                and not self._polls
            ):
                self._end_updates()
                return
            self._wake.clear()
            await self._sleep_or_wake(self._heap[0][0] - now if self._heap else None)

    def _poll_done(self, poll: asyncio.Task[None]) -> None:
        self._polls.discard(poll)
        self._wake.set()

    async def _sleep_or_wake(self, delay: float | None) -> None:
        woken = asyncio.ensure_future(self._wake.wait())
        if delay is None:
            await woken
            return
        slept = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait((woken, slept), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()

    async def _poll(self, keys: list[int]) -> None:
        try:
            outcomes = await self._statuses.load_many(keys)
        except ClientClosedError as exc:
            self._shut(exc)
            return
        now = self._clock()
        failed: list[int] = []
        error: BaseException | None = None
        for key, outcome in outcomes.items():
            entry = self._orders.get(key)
            if entry is None:
                continue  # untracked while its poll was in flight
            entry.polling = False
            if isinstance(outcome, OrderError) and not outcome.missing:
                self._finish(key, outcome)
            elif isinstance(outcome, BaseException):
                failed.append(key)
                error = outcome
                self._reschedule(key, entry, now, changed=False)
            else:
                seen = (outcome.status, outcome.remains, outcome.start_count)
                changed = seen != entry.seen
                entry.seen = seen
                if changed:
                    self._emit(outcome)
                if outcome.is_final:
                    self._finish(key, outcome, emitted=changed)
                else:
                    self._reschedule(key, entry, now, changed=changed)
        if error is not None:
            self._on_error(error, failed)

    def _reschedule(
        self, key: int, entry: _Order, now: float, *, changed: bool
    ) -> None:
        if changed:
            entry.interval = self._interval
        else:
            entry.interval = min(self._max_interval, entry.interval * self._growth)
        entry.due = now + entry.interval
        heapq.heappush(self._heap, (entry.due, key))

    def _finish(self, key: int, outcome: Update, *, emitted: bool = False) -> None:
        del self._orders[key]
        if not emitted:
            self._emit(outcome)
        self._settle(key, outcome)

    def _emit(self, update: Update) -> None:
        if self._updates is not None:
            self._updates.put_nowait(update)

    def _settle(self, key: int, outcome: object) -> None:
        for future in self._waiters.pop(key, ()):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)  # type: ignore[arg-type]
