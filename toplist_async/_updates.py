"""What a tracker hands out: updates to its one consumer, final answers to waiters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ._exceptions import OrderError
from ._models import OrderStatus

__all__ = ["Update", "Updates", "Waiters"]

Update = OrderStatus | OrderError


class Updates:
    """
    A mailbox of updates for one consumer at a time, bounded by the orders.

    Updates are kept only while `keeping` (someone iterates, or a `watch()`
    that has not been left); a newer update of an order replaces one not yet
    taken, so a slow consumer costs at most two updates per order and never
    slows the poller. `end(error)` ends the iteration, raising `error` if any.
    """

    __slots__ = ("_error", "_pending", "_ready", "ended", "iterating", "keeping")

    def __init__(self, *, keeping: bool) -> None:
        self._pending: dict[int, Update] = {}
        self._ready = asyncio.Event()
        self._error: BaseException | None = None
        self.keeping = keeping
        self.iterating = False
        self.ended = False

    def put(self, update: Update) -> None:
        """Offer an update: kept only while someone is there to take it."""
        if self.keeping and not self.ended:
            self._pending[update.order_id] = update
            self._ready.set()

    def end(self, error: BaseException | None = None) -> None:
        """End the iteration once the kept updates are taken; raise `error` then."""
        if not self.ended:
            self.ended = True
            self._error = error
            self._ready.set()

    def claim(self) -> None:
        """Become the one consumer; a second one is refused at once."""
        if self.iterating:
            msg = "this tracker is already being iterated; iterate it in one place"
            raise RuntimeError(msg)
        self.iterating = True
        self.keeping = True

    def release(self) -> None:
        """The consumer left: updates are no longer kept."""
        self.iterating = False
        self.keeping = False
        self._pending = {}

    async def drain(self) -> AsyncIterator[Update]:
        """Yield updates as they come, until `end()` (raising its error)."""
        while True:
            if self._pending:
                # Swapped out whole: taking one entry at a time from the front
                # of a dict costs a scan past every entry taken before.
                taken, self._pending = self._pending, {}
                for update in taken.values():
                    yield update
                continue
            if self.ended:
                if self._error is not None:
                    raise self._error
                return
            self._ready.clear()
            await self._ready.wait()


class Waiters:
    """The futures of `wait()` callers, per order; one that leaves takes its own."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: dict[int, list[asyncio.Future[OrderStatus]]] = {}

    def __len__(self) -> int:
        return sum(map(len, self._futures.values()))

    async def wait(self, key: int) -> OrderStatus:
        """Wait until `settle(key, ...)`."""
        future: asyncio.Future[OrderStatus] = asyncio.get_running_loop().create_future()
        futures = self._futures.setdefault(key, [])
        futures.append(future)
        try:
            return await future
        finally:
            if self._futures.get(key) is futures:  # left before being settled
                futures.remove(future)
                if not futures:
                    del self._futures[key]

    def settle(self, key: int, outcome: OrderStatus | BaseException) -> None:
        """Give `outcome` (a final status, or an error to raise) to `key`'s waiters."""
        for future in self._futures.pop(key, ()):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def settle_all(self, error: BaseException) -> None:
        """Every waiter raises `error`."""
        for key in list(self._futures):
            self.settle(key, error)
