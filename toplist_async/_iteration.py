"""One `async for` over a tracker, which lets go of it as soon as it is left."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Self

from ._exceptions import TrackerInUseError
from ._updates import Tasks, Update, Updates

__all__ = ["Iteration"]


class Iteration:
    """
    The updates of one `async for` over a tracker, until they end or it is left.

    It takes the tracker at its first step (a second consumer still there is
    refused with `TrackerInUseError`) and lets go when the updates end, at
    `aclose()`, when it is dropped (`break`) or its task ends, or when its own
    task starts a newer loop over the tracker (it then raises if used again).
    An object, not an async generator, so that letting go never waits for the
    event loop to finalise it.
    """

    __slots__ = (
        "__weakref__",
        "_done",
        "_on_left",
        "_start",
        "_started",
        "_turn",
        "_updates",
    )

    def __init__(
        self,
        updates: Updates,
        start: Callable[[], None],
        on_left: Callable[[], Tasks],
    ) -> None:
        self._updates = updates
        self._start = start
        self._on_left = on_left
        self._started = False
        self._done = False
        self._turn = -1

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Update:
        updates = self._updates
        if updates.turn != self._turn:  # not holding it (yet, or any more)
            await self._enter()
        update = updates.ready()  # most steps: no wait, no coroutine
        if update is not None:
            return update
        try:
            return await updates.take()
        except asyncio.CancelledError:
            raise  # left or not: the task decides (`wait_for()` goes on taking)
        except Exception:  # the end, or the error that ended tracking
            await self.aclose()
            raise

    async def _enter(self) -> None:
        """Take the tracker at the first step; refuse one replaced or closed."""
        if self._done:
            raise StopAsyncIteration
        if self._started:
            self._done = True
            msg = "a newer `async for` over the tracker replaced this one"
            raise TrackerInUseError(msg)
        replaced = self._updates.claim(self, self._on_left)
        self._turn = self._updates.turn
        self._started = True
        self._start()
        await _finish(replaced)

    async def aclose(self) -> None:
        """Leave now: updates are no longer kept, and a `watch()` stops polling."""
        self._done = True
        await _finish(self._updates.release(self))


async def _finish(tasks: Tasks) -> None:
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
