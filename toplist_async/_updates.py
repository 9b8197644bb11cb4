"""What a tracker hands out: updates to its one consumer, final answers to waiters."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ._exceptions import OrderError, TrackerInUseError
from ._models import OrderStatus

__all__ = ["Tasks", "Update", "Updates", "Waiters"]

Update = OrderStatus | OrderError
# What a consumer leaving stopped, for an `aclose()` to wait for.
Tasks = list[asyncio.Task[None]]


class Updates:
    """
    A mailbox of updates for one consumer at a time, bounded by the orders.

    Updates are kept only while `keeping` (a consumer holds the mailbox, or a
    `watch()` that has not been left); a newer update of an order replaces one
    not yet taken, so a slow consumer costs at most two updates per order and
    never slows the poller. Updates a consumer left untaken wait for the next
    one, kept up to date. `end(error)` ends the iteration, raising `error`.

    The consumer (an iterator) is held weakly: one that is dropped, whose task
    ended, or that its own task replaced by a newer one has left; `on_left`,
    given with the claim, then runs.
    """

    __slots__ = (
        "_batch",
        "_error",
        "_holder",
        "_holder_task",
        "_loop",
        "_on_left",
        "_pending",
        "_ready",
        "_taking",
        "ended",
        "keeping",
        "turn",
    )

    def __init__(self, *, keeping: bool) -> None:
        self._pending: dict[int, Update] = {}
        self._batch: Iterator[Update] = iter(())
        self._ready = asyncio.Event()
        self._error: BaseException | None = None
        self._holder: weakref.ref[object] | None = None
        self._holder_task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_left: Callable[[], Tasks] | None = None
        self._taking = False
        self.keeping = keeping
        self.ended = False
        self.turn = 0  # changes whenever the consumer changes

    def put(self, update: Update) -> None:
        """Offer an update: kept while someone is there to take it, or to
        refresh the update of its order that a consumer left untaken."""
        key = update.order_id
        if (self.keeping or key in self._pending) and not self.ended:
            self._pending[key] = update
            self._ready.set()

    def end(self, error: BaseException | None = None) -> None:
        """End the iteration once the kept updates are taken; raise `error` then."""
        if not self.ended:
            self.ended = True
            self._error = error
            self._ready.set()

    def holds(self, consumer: object) -> bool:
        """Whether `consumer` is the one consumer."""
        return self._holder is not None and self._holder() is consumer

    def claim(self, consumer: object, on_left: Callable[[], Tasks]) -> Tasks:
        """
        Make `consumer` the one consumer; refused while another is still there.

        Returns what the consumer it replaced stopped, for the caller to wait for.
        It holds the mailbox as long as `turn` has not changed.
        """
        task = asyncio.current_task()
        replaced: Tasks = []
        if self._holder is not None and self._holder() is not None:
            if not self._left(task):
                msg = (
                    "this tracker is already being iterated elsewhere (one consumer "
                    "at a time): leave that loop or aclose() its iterator first"
                )
                raise TrackerInUseError(msg)
            replaced = self._let_go()()
        self._holder = weakref.ref(consumer, self._dropped)
        self._holder_task = task
        self._loop = asyncio.get_running_loop()
        self._on_left = on_left
        self.keeping = True
        self.turn += 1
        return replaced

    def _left(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether the consumer still held has left, seen from `task`."""
        if self._taking:
            return False  # waiting for its next update
        holder_task = self._holder_task
        # The same task is past the holder's loop (a nested loop replaces it too).
        return holder_task is task or (holder_task is not None and holder_task.done())

    def release(self, consumer: object) -> Tasks:
        """`consumer` left (its loop ended or was closed): run its `on_left`."""
        return self._let_go()() if self.holds(consumer) else []

    def _let_go(self) -> Callable[[], Tasks]:
        self.turn += 1
        self._holder = None
        self._holder_task = None
        self.keeping = False
        # What the consumer did not take waits for the next one.
        untaken = {update.order_id: update for update in self._batch}
        if untaken:
            untaken.update(self._pending)
            self._pending = untaken
        self._batch = iter(())
        on_left, self._on_left = self._on_left, None
        return on_left or list

    def _dropped(self, holder: weakref.ref[object]) -> None:
        """The consumer was freed without leaving (`break` in CPython, at once)."""
        if holder is not self._holder:
            return
        loop, on_left = self._loop, self._let_go()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # freed after its loop stopped: nothing runs to stop
            return
        if running is loop:
            on_left()

    def ready(self) -> Update | None:
        """The next update if one is there, without waiting."""
        update = next(self._batch, None)
        if update is None and self._pending:
            # Swapped out whole: taking one entry at a time from the front of
            # a dict costs a scan past every entry taken before.
            self._batch = iter(self._pending.values())
            self._pending = {}
            update = next(self._batch)
        return update

    async def take(self) -> Update:
        """The next update, waiting for one; after `end()`, its error or the end."""
        self._taking = True
        try:
            while True:
                update = self.ready()
                if update is not None:
                    return update
                if self.ended:
                    if self._error is not None:
                        raise self._error
                    raise StopAsyncIteration
                self._ready.clear()
                await self._ready.wait()
        finally:
            self._taking = False


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
