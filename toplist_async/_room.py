"""Back-pressure: callers wait, first come first served, while too many ids wait."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sized

__all__ = ["Room"]


class Room:
    """
    Room for ids under a cap of `limit` ids in `taken` (a batcher's pending ids).

    Freed room goes to the callers that waited longest; closing wakes them all.
    """

    def __init__(self, limit: int, taken: Sized) -> None:
        self._limit = limit
        self._taken = taken
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def full(self) -> bool:
        """Whether a new id has to wait for room."""
        return len(self._taken) >= self._limit

    async def wait(self) -> None:
        """Wait until fewer than `limit` ids are taken, or the room is closed."""
        while len(self._taken) >= self._limit and not self._closed:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.release()  # hand the room this caller got on
                raise

    def release(self) -> None:
        """Wake as many waiters as there is room for, after ids were let go."""
        # Not all of them: waking everyone on each release made a long queue
        # quadratic.
        room = self._limit - len(self._taken)
        if self._closed:
            room = len(self._waiters)
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    def close(self) -> None:
        """Stop making callers wait; waiters still queued are woken by `release`."""
        self._closed = True
