"""Following many orders until they finish, in shared poll rounds (see _schedule)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypedDict

from ._arguments import order_id
from ._exceptions import ClientClosedError, ToplistError
from ._iteration import Iteration
from ._models import OrderStatus
from ._rounds import Book, fetch
from ._schedule import DEFAULTS, Schedule
from ._updates import Updates, Waiters

if TYPE_CHECKING:
    from ._client import ToplistClient

__all__ = ["OrderTracker", "TrackerOptions"]

logger = logging.getLogger("toplist_async")


class TrackerOptions(TypedDict, total=False):
    """The keyword options of `OrderTracker`, as `client.watch()` takes them."""

    interval: float
    growth: float
    max_interval: float
    first_poll: float
    timeout: float | None
    on_error: Callable[[BaseException, list[int]], None]
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


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

    Each order is polled at once when tracked (or after `first_poll`), then
    after `interval` seconds, growing by `growth` each time nothing changed, up
    to `max_interval`; a change resets it. Polls share requests of 100 ids: an
    order past 80 % of its gap rides along with a request going out.

    Iterate over the tracker (in one place at a time) for updates: an order's
    first status, then each change of its status, `remains` or `start_count`;
    a refused id comes as its `OrderError` and is dropped. A slow consumer gets
    the latest update of each order. `await tracker.wait(id)` returns an
    order's final status. A status request failing after its retries (5xx,
    timeout, 429) does not end tracking: its orders are polled later, split
    until a poison order is alone, and `on_error(error, order_ids)` is called
    (by default, a warning is logged). An order failing alone 3 times, left out
    of 3 answers in a row, or not final `timeout` seconds after it was tracked
    comes as an `OrderError` and is dropped. An `AuthenticationError` about the
    key, or `on_error` raising, ends tracking: iteration and every `wait()`
    raise it. With `stop_when_idle` (what `client.watch()` uses) iteration ends
    when no order is left; otherwise it ends at `aclose()`. `clock` and
    `sleep` exist for tests.

    One consumer iterates at a time: a second `async for` while a loop runs
    raises `TrackerInUseError`; a loop left (`break`, an exception, its
    iterator's `aclose()`) lets go at once.
    """

    def __init__(
        self,
        client: ToplistClient,
        orders: Iterable[int] = (),
        *,
        interval: float = DEFAULTS.interval,
        growth: float = DEFAULTS.growth,
        max_interval: float = DEFAULTS.max_interval,
        first_poll: float = DEFAULTS.first_poll,
        timeout: float | None = None,
        stop_when_idle: bool = False,
        on_error: Callable[[BaseException, list[int]], None] = _log_error,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        rules = Schedule(
            interval=interval,
            growth=growth,
            max_interval=max_interval,
            first_poll=first_poll,
            timeout=timeout,
            capacity=client._batch_size,
        )
        if client._closed:
            msg = "the client is closed"
            raise ClientClosedError(msg)
        self._statuses = client._statuses
        self._load_alone = client._load_statuses
        client._trackers.add(self)
        self._stop_when_idle = stop_when_idle
        self._on_error = on_error
        self._clock = clock
        self._sleep = sleep
        self._book = Book(rules)
        self._orders = self._book.orders
        self._waiters = Waiters()
        self._updates = Updates(keeping=stop_when_idle)
        self._scheduler: asyncio.Task[None] | None = None
        self._parked_until: float | None = None
        self._polls: set[asyncio.Task[None]] = set()
        self._stopping: list[asyncio.Task[None]] = []
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
        due = self._book.add(key, self._clock())
        if due is not None:
            self._rearm(due)

    def untrack(self, order: int) -> None:
        """Stop following an order; its `wait()` callers get a `ToplistError`."""
        key = order_id(order)
        if self._orders.pop(key, None) is not None:
            self._waiters.settle(key, ToplistError(f"order {key} is no longer tracked"))
            self._idle_check()

    async def wait(self, order: int) -> OrderStatus:
        """Follow `order` (if not yet) and return its final status."""
        key = order_id(order)
        self.track(key)
        return await self._waiters.wait(key)

    def __aiter__(self) -> Iteration:
        return Iteration(self._updates, self._start, self._consumer_left)

    def _consumer_left(self) -> list[asyncio.Task[None]]:
        """A `watch()` left (at its end, `break`, an exception) stops polling."""
        if not self._stop_when_idle or self._closed:
            return []
        return self._stop(ClientClosedError("the tracker was closed"), None)

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
        if not self._closed:
            self._stop(ClientClosedError("the tracker was closed"), None)
        # Also after a stop that could not wait (a `watch()` dropped at `break`).
        current = asyncio.current_task()
        stopping = [task for task in self._stopping if task is not current]
        await asyncio.gather(*stopping, return_exceptions=True)

    def _stop(
        self, waiters_get: BaseException, consumer_gets: BaseException | None
    ) -> list[asyncio.Task[None]]:
        """End tracking at once: no more polls, every waiter and the stream told."""
        self._closed = True
        current = asyncio.current_task()
        tasks = [*self._polls, *([self._scheduler] if self._scheduler else [])]
        tasks = [task for task in tasks if task is not current]
        for task in tasks:
            task.cancel()
        self._stopping = tasks
        self._waiters.settle_all(waiters_get)
        self._book.clear()
        self._updates.end(consumer_gets)
        return tasks

    def _fail(self, error: BaseException) -> None:
        """A fatal error: tracking ends and everyone waiting learns why."""
        if not self._closed:
            self._stop(error, error)

    def _start(self) -> None:
        idle = self._scheduler is None or self._scheduler.done()
        if idle and not self._closed:
            self._parked_until = None
            self._scheduler = asyncio.get_running_loop().create_task(self._schedule())

    def _rearm(self, due: float) -> None:
        """Make sure the scheduler wakes by `due`."""
        if self._parked_until is not None and due < self._parked_until:
            # It only sleeps while parked: nothing is lost by starting anew.
            assert self._scheduler is not None
            self._scheduler.cancel()
            self._scheduler = None
        self._start()

    async def _schedule(self) -> None:
        try:
            await self._run_rounds()
        except Exception as exc:  # a bug must not leave everyone waiting
            self._fail(exc)

    async def _run_rounds(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = self._clock()
            requests, due = self._book.take_round(now)
            for request in requests:
                alone = self._orders[request[0]].plan.failures > 0
                poll = loop.create_task(self._poll(request, alone))
                self._polls.add(poll)
                poll.add_done_callback(self._poll_done)
            if due is None:
                break
            self._parked_until = due
            await self._sleep(max(0.0, due - now))
            self._parked_until = None
        self._idle_check()

    def _idle_check(self) -> None:
        if self._stop_when_idle and not self._orders and not self._polls:
            self._updates.end()

    def _poll_done(self, poll: asyncio.Task[None]) -> None:
        self._polls.discard(poll)
        self._idle_check()

    async def _poll(self, keys: list[int], alone: bool) -> None:
        loader = self._load_alone if alone else None
        results = await fetch(self._statuses, loader, keys)
        try:
            report = self._book.apply(results, self._clock())
        except Exception as exc:  # a bug must not leave everyone waiting
            self._fail(exc)
            return
        for update in report.updates:
            self._updates.put(update)
        for key, outcome in report.ended:
            self._waiters.settle(key, outcome)
        if isinstance(report.fatal, ClientClosedError):
            self._stop(report.fatal, None)  # the client closed: a quiet end
        elif report.fatal is not None:
            self._fail(report.fatal)
        elif report.soonest is not None:
            self._rearm(report.soonest)
        if report.error is not None and not self._closed:
            try:
                self._on_error(report.error, report.failed)
            except Exception as exc:  # it ends tracking, loudly
                self._fail(exc)
