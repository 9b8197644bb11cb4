"""
The client-wide pace of attempts: the panel's 429 pause, then the token bucket.

A 429 whose wait is honoured pauses every request of the client, not only the
one that got it, so callers do not stampede; an optional token bucket paces
every attempt so the 429 does not come at all. A wait that would end after the
call's deadline is not begun.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._exceptions import RateLimitError
from ._ratelimit import RateLimiter
from ._stats import StatsCounter

__all__ = ["OutOfTime", "Pacer"]

T = TypeVar("T")
logger = logging.getLogger("toplist_async")


class OutOfTime(Exception):
    """A wait before an attempt would end after the call's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class Pacer:
    """
    Runs attempts at the client's pace: after its 429 pause and a bucket token.

    A `Retry-After` above `max_retry_after` does not pause the client. `sleep`
    is the wait every pause and token goes through.
    """

    def __init__(
        self,
        *,
        max_retry_after: float,
        stats: StatsCounter,
        bucket: RateLimiter | None,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.max_retry_after = max_retry_after
        self._stats = stats
        self._bucket = bucket
        self._sleep = sleep
        self._paused_until = 0.0

    async def run(self, attempt: Callable[[], Awaitable[T]], ends: float) -> T:
        """
        One attempt, after the client-wide pause and the bucket's token.

        Raises `OutOfTime`, the attempt unsent, when its turn would come after `ends`.
        """
        if self._paused_until or self._bucket is not None:
            await self._pace(ends)
        try:
            return await attempt()
        except RateLimitError as exc:
            if self._pause(exc) and self._bucket is not None:
                await self._bucket.pause(exc.retry_after or 0.0)
            raise

    async def _pace(self, ends: float) -> None:
        """
        Wait out the client-wide 429 pause, then take a token of the bucket.

        A wait that would end after `ends` is not begun: `OutOfTime` is raised
        instead (a bucket gives back the token it raises through).
        """

        async def sleep(seconds: float) -> None:
            if time.monotonic() + seconds > ends:
                raise OutOfTime(seconds)
            await self._sleep(seconds)

        served = 0.0  # the end of the pause already waited for
        while True:
            until = self._paused_until
            if until > served:
                pause = until - time.monotonic()
                if pause > 0:
                    await sleep(pause)
                served = until
            if self._bucket is not None and await self._bucket.acquire(sleep):
                self._stats.rate_limit_waits += 1
            if self._paused_until <= served:
                return
            # A 429 paused the client while this caller waited for its token.
            if self._bucket is not None:
                self._bucket.give_back()

    def _pause(self, exc: RateLimitError) -> bool:
        """Pause the client for the 429's wait; False when the wait is not honoured."""
        wait = exc.retry_after
        if wait is None or not 0 < wait <= self.max_retry_after:
            return False
        until = time.monotonic() + wait
        if until > self._paused_until:
            self._paused_until = until
            self._stats.rate_limit_pauses += 1
            logger.info(
                "every request waits %.1f s: the panel answered HTTP 429",
                wait,
                extra={"toplist_wait": float(wait), "toplist_reason": "HTTP 429"},
            )
        return True
