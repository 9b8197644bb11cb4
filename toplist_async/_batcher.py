"""
Merging concurrent per-id awaits into batch requests, and fanning answers back.

Every caller gets a future of its own (a shared future would let one caller's
cancellation cancel the others). Identical ids waiting or in flight share one
entry in one batch. Batches leave when they are full or when the window closes,
at most `max_in_flight` at once (`_dispatcher`); a batch waiting for a free slot
keeps filling. Nothing is cached: once a batch is answered, the next await asks
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from ._batch import MISSING, PENDING, Batch, Group, Shared, Waiter, deliver
from ._dispatcher import Dispatcher
from ._exceptions import ClientClosedError
from ._room import Room

__all__ = ["Batcher"]

_Future = asyncio.Future

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batcher(Generic[K, V]):
    """
    Coalesces `load(key)` calls into `loader(keys)` calls of up to `max_batch_size`.

    The loader returns a mapping from key to a value or an exception instance;
    a key it leaves out gets `on_missing(key)`. When the loader raises, every
    caller of that batch gets the error. With `abandon_unwanted`, a sent batch
    whose callers all left is cancelled; otherwise (mutations) it runs to its end.
    """

    def __init__(
        self,
        loader: Callable[[list[K]], Coroutine[Any, Any, Mapping[K, V | BaseException]]],
        *,
        action: str,
        on_missing: Callable[[K], BaseException],
        window: float,
        max_batch_size: int,
        max_in_flight: int,
        max_pending: int,
        abandon_unwanted: bool,
    ) -> None:
        if window < 0 or max_batch_size < 1 or max_in_flight < 1 or max_pending < 1:
            msg = (
                "batch_window must be >= 0 and max_batch_size, max_in_flight and "
                "max_pending >= 1"
            )
            raise ValueError(msg)
        self._on_missing = on_missing
        self._max_batch_size = max_batch_size
        self._abandon_unwanted = abandon_unwanted
        # Each id waiting or in flight, and the batch that holds it.
        self._pending: dict[K, Batch[K, V]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: Dispatcher[K, V] = Dispatcher(
            loader,
            action=action,
            window=window,
            max_in_flight=max_in_flight,
            loop=self._current_loop,
            on_answer=self._resolve,
        )
        self._room = Room(max_pending, self._pending)
        self._closed = False
        self.awaits = 0
        """Ids asked for by callers (each `load`, each key of `load_many`)."""
        self.merged = 0
        """Waiters that joined an identical id already waiting or in flight."""

    async def load(self, key: K) -> V:
        """Wait for `key`'s own answer from the batch it joins."""
        if self._room.full and key not in self._pending:
            await self._room.wait()
        # The loop is read once per batch, not per await (a getpid() call each).
        loop = self._loop if self._pending else self._current_loop()
        future: asyncio.Future[V] = loop.create_future()  # type: ignore[union-attr]
        batch = self._enqueue(key, future)
        self.awaits += 1
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning
            self._leave(batch, key)
            raise

    async def load_many(self, keys: Iterable[K]) -> dict[K, V | BaseException]:
        """Wait for every key's answer; errors are returned, not raised."""
        group: Group[K, V] = Group(self._current_loop().create_future())
        results = group.results
        joined: list[tuple[Batch[K, V], K]] = []
        try:
            for key in keys:
                if key in results:
                    continue
                if self._room.full and key not in self._pending:
                    await self._room.wait()
                # Placeholder, so answers come back in the order asked.
                results[key] = PENDING  # type: ignore[assignment]
                group.remaining += 1
                joined.append((self._enqueue(key, group), key))
                self.awaits += 1
            group.sealed = True
            if group.remaining:
                await group.future
        except BaseException:
            group.future.cancel()
            for batch, key in joined:
                self._leave(batch, key)
            raise
        return results

    def _current_loop(self) -> asyncio.AbstractEventLoop:
        # Reading the running loop costs a getpid() call on CPython 3.11: it is
        # read when nothing is pending, and reused while batches are under way.
        if not self._pending or self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _enqueue(self, key: K, waiter: Waiter[K, V]) -> Batch[K, V]:
        """Put `waiter` in the batch that holds `key`, or in the open batch."""
        if self._closed:
            msg = "the client is closed"
            raise ClientClosedError(msg)
        batch = self._pending.get(key)
        if batch is not None:
            self._join(batch, key, waiter)
            return batch
        dispatcher = self._dispatcher
        batch = dispatcher.open or dispatcher.start()
        entries = batch.entries
        entries[key] = waiter
        self._pending[key] = batch
        if len(entries) >= self._max_batch_size:
            dispatcher.seal()
        return batch

    def _join(self, batch: Batch[K, V], key: K, waiter: Waiter[K, V]) -> None:
        """Add a waiter to an id already waiting or in flight."""
        entry = batch.entries[key]
        if isinstance(entry, Shared):
            entry.waiters.append(waiter)
            entry.live += 1
        else:
            batch.entries[key] = Shared([entry, waiter])
        if batch.sent:
            batch.live += 1
        else:
            batch.extra += 1
        self.merged += 1

    def _leave(self, batch: Batch[K, V], key: K) -> None:
        """Account for a waiter of `key` that stopped waiting before its answer."""
        if batch.finished:
            return
        if batch.sent:
            batch.live -= 1
            if batch.live == 0 and self._abandon_unwanted:
                self._abandon(batch)
            return
        entry = batch.entries[key]
        if isinstance(entry, Shared):
            entry.live -= 1
            if entry.live:
                batch.extra -= 1
                return
        # Nobody waits for this id any more: it is not sent.
        del batch.entries[key]
        del self._pending[key]
        self._room.release()

    def _abandon(self, batch: Batch[K, V]) -> None:
        batch.abandoned = True
        for key in batch.entries:
            del self._pending[key]
        if batch.task is not None:
            batch.task.cancel()

    def _resolve(
        self,
        batch: Batch[K, V],
        outcome: Mapping[K, V | BaseException] | None,
        failure: BaseException | None,
    ) -> None:
        """Give every caller of `batch` its own key's answer, or `failure`."""
        batch.finished = True
        # An abandoned batch's ids were already let go, and may be pending anew.
        pending = None if batch.abandoned else self._pending
        for key, entry in batch.entries.items():
            if pending is not None:
                del pending[key]
            value: Any = failure
            if outcome is not None:
                value = outcome.get(key, MISSING)
                if value is MISSING:
                    value = self._on_missing(key)
            if type(entry) is _Future:
                # The common case: one caller awaiting its own future.
                if not entry.done():
                    if isinstance(value, BaseException):
                        entry.set_exception(value)
                    else:
                        entry.set_result(value)
            elif isinstance(entry, Shared):
                for waiter in entry.waiters:
                    deliver(waiter, key, value)
            else:
                deliver(entry, key, value)
        batch.entries = {}
        self._room.release()

    async def aclose(self) -> None:
        """
        Fail callers whose batch was not sent yet, and finish or cancel sent ones.

        Sent batches of a mutation are waited for: their callers get the panel's
        answer. Other sent batches are cancelled and their callers get
        `ClientClosedError`. No task is left running.
        """
        if self._closed:
            return
        self._closed = True
        self._room.close()
        unsent = self._dispatcher.close()
        closed = ClientClosedError("the client was closed before the request was sent")
        for batch in unsent:
            self._resolve(batch, None, closed)
        self._room.release()  # loads waiting for room see the client closed
        tasks = list(self._dispatcher.tasks)
        if self._abandon_unwanted:
            for task in tasks:
                task.cancel()
        if tasks:
            # Not gather(): cancelling this close must not cancel a sent cancel.
            await asyncio.wait(tasks)
