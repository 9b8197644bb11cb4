"""A client-wide token bucket, so a busy app never earns a 429 in the first place."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

__all__ = ["RateLimiter", "TokenBucket", "check_pace", "per_minute"]


@runtime_checkable
class RateLimiter(Protocol):
    """
    What `ToplistClient(rate_limit=...)` accepts besides a number per minute.

    Implement it to pace a client by something other than its own token bucket,
    for example one limit shared by a fleet of processes
    (`toplist_async.redis.RedisRateLimit`).
    """

    async def acquire(self, sleep: Callable[[float], Awaitable[None]]) -> float:
        """
        Wait with `sleep` until the caller may send one request; return the wait.

        Callers are served in arrival order; one cancelled while it waits gives
        its turn back.
        """
        ...

    def give_back(self) -> None:
        """Return the turn just acquired: a 429 pause began while its caller waited."""
        ...

    async def pause(self, seconds: float) -> None:
        """
        The panel answered 429 and asked for `seconds` of quiet.

        The client holds its own requests back by itself; a limiter shared with
        other clients holds theirs back too.
        """
        ...


def per_minute(rate_limit: object) -> float:
    """`rate_limit=` as a number of requests per minute, or a TypeError."""
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int | float):
        kind = type(rate_limit).__name__
        msg = (
            "rate_limit must be requests per minute or a RateLimiter (such as "
            f"toplist_async.redis.RedisRateLimit), not {kind}"
        )
        raise TypeError(msg)
    return rate_limit


def check_pace(per_minute: float, burst: int | None, *, name: str) -> None:
    """Refuse a pace no limiter can keep; `name` is the option the user set."""
    if not per_minute > 0:
        msg = (
            f"{name} must be a positive number of requests a minute, not {per_minute!r}"
        )
        raise ValueError(msg)
    if burst is not None and not 1 <= burst <= per_minute:
        msg = f"burst must be between 1 and {per_minute}, not {burst!r}"
        raise ValueError(msg)


class TokenBucket:
    """
    Lets at most `per_minute` requests start in any 60-second window.

    A burst of `burst` requests may start at once; the rest of the minute's
    budget refills evenly, so a burst plus a minute of refill never exceeds
    `per_minute` (panels such as Laravel's throttle count a sliding or fixed
    minute). Callers are served in arrival order: each takes its token at
    once, possibly on credit, and sleeps until the credit is covered.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_pace(per_minute, burst, name="rate_limit")
        self.per_minute = per_minute
        self.burst = burst if burst is not None else max(1, int(per_minute // 10))
        self._refill_per_second = max(per_minute - self.burst, 1.0) / 60.0
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    def reserve(self) -> float:
        """Take a token; return how many seconds to wait before using it (0: now)."""
        now = self._clock()
        elapsed = now - self._updated
        self._updated = now
        refilled = self._tokens + elapsed * self._refill_per_second
        self._tokens = min(float(self.burst), refilled)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._refill_per_second

    def give_back(self) -> None:
        """Return a token whose caller left before using it."""
        self._tokens += 1.0

    async def pause(self, seconds: float) -> None:
        """Nothing to do: the client pauses itself, and this bucket serves it alone."""

    async def acquire(self, sleep: Callable[[float], Awaitable[None]]) -> float:
        """Wait for a token with `sleep`; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            try:
                await sleep(wait)
            except BaseException:
                self.give_back()
                raise
        return wait
