"""One rate limit for a fleet of processes: GCRA reservations in Redis, on its clock."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from .._ratelimit import TokenBucket, check_pace
from ._connection import RedisUnavailableError, bounded

__all__ = ["RedisRateLimit"]

logger = logging.getLogger("toplist_async.redis")

# The stored value is the theoretical arrival time (TAT) of the next turn, in
# microseconds of the server's clock; every client reads that one clock, so a
# client whose clock is off changes nothing. A caller takes the next turn at
# once, on credit, and sleeps until it comes: one round trip, no polling, and
# turns go out in the order Redis received the calls.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now) + interval
local turn = string.format('%.0f', tat)
redis.call('SET', KEYS[1], turn, 'PX', math.floor((tat - now) / 1000) + 1000)
return {math.max(0, tat - burst * interval - now), turn}
"""

# Only the latest turn can be handed back: an earlier one has later turns
# queued behind it, and moving them is not worth a slot.
_GIVE_BACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(ARGV[2]) - tonumber(ARGV[1])
local ttl = math.max(1, math.floor((tat - now) / 1000) + 1000)
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl)
return 1
"""

# The first turn after the pause starts when the pause ends, without a burst.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local target = now + tonumber(ARGV[3]) + (burst - 1) * interval
if tonumber(redis.call('GET', KEYS[1]) or 0) >= target then return 0 end
local ttl = math.floor((target - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', target), 'PX', ttl)
return 1
"""

# After Redis fails, the local bucket serves this long before Redis is tried again.
_FALLBACK_SECONDS = 10.0


class RedisRateLimit:
    """
    At most `per_minute` requests in any 60 s, shared by every client using `name`.

    Pass it as `ToplistClient(rate_limit=...)` in each process of a fleet, with
    the same `name` and `per_minute`. Callers wait their turn first come, first
    served: each request costs one Redis call (a Lua script that reads the
    server's clock), and a caller cancelled while it waits gives its turn back.
    `burst` requests may start at once after a quiet spell (default: a fiftieth
    of the limit, at least one); the steady pace is `per_minute - burst` a
    minute, so a burst plus a minute of turns never exceeds `per_minute`.
    A 429 with a wait pauses every client of the fleet, not only the one it hit.

    Every Redis call gives up after `timeout` seconds. When Redis fails, the
    request fails with `RedisUnavailableError`, or, with `fallback_per_minute`,
    this process paces itself with a local bucket of that rate for a while
    (logged as a warning) and then tries Redis again. `clock` (seconds, for
    the local bucket) is there for tests.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        name: str,
        per_minute: float,
        burst: int | None = None,
        fallback_per_minute: float | None = None,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not name or not isinstance(name, str):
            msg = f"name must be a non-empty string, not {name!r}"
            raise ValueError(msg)
        check_pace(per_minute, burst, name="per_minute")
        if not timeout > 0:
            msg = f"timeout must be a positive number of seconds, not {timeout!r}"
            raise ValueError(msg)
        self.name = name
        self.per_minute = per_minute
        self.burst = burst if burst is not None else max(1, int(per_minute // 50))
        self.timeout = timeout
        self.key = f"toplist:{{{name}}}:rate"
        self._interval = math.ceil(60e6 / max(per_minute - self.burst, 1.0))
        self._clock = clock
        self._fallback = (
            None
            if fallback_per_minute is None
            else TokenBucket(fallback_per_minute, clock=clock)
        )
        self._fallback_until = -math.inf
        self._on_fallback = False
        self._reserve = redis.register_script(_RESERVE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._pause = redis.register_script(_PAUSE)

    def __repr__(self) -> str:
        return f"RedisRateLimit(name={self.name!r}, per_minute={self.per_minute!r})"

    async def acquire(self, sleep: Callable[[float], Awaitable[None]]) -> float:
        """Take the fleet's next turn and sleep until it comes; return the wait."""
        turn = await self._take_turn()
        if turn is None:
            assert self._fallback is not None
            return await self._fallback.acquire(sleep)
        wait, token = turn
        if wait > 0:
            try:
                await sleep(wait)
            except BaseException:
                await self._hand_back(token)
                raise
        return wait

    def give_back(self) -> None:
        """Nothing to return: the fleet's pause already moved every turn past it."""

    async def pause(self, seconds: float) -> None:
        """Hold every client of the fleet back for `seconds` (a 429 asked for it)."""
        args = [self._interval, self.burst, math.ceil(seconds * 1e6)]
        try:
            async with bounded("to share a 429 pause", self.timeout):
                await self._pause(keys=[self.key], args=args)
        except RedisUnavailableError as exc:
            logger.warning("rate limit %r: the pause stays local: %s", self.name, exc)

    async def _take_turn(self) -> tuple[float, Any] | None:
        """Reserve a turn: (seconds to wait, its token), or None to use the fallback."""
        if self._fallback is not None and self._clock() < self._fallback_until:
            return None
        try:
            async with bounded("to reserve a request", self.timeout):
                wait, token = await self._reserve(
                    keys=[self.key], args=[self._interval, self.burst]
                )
        except RedisUnavailableError as exc:
            if self._fallback is None:
                raise
            self._fallback_until = self._clock() + _FALLBACK_SECONDS
            if not self._on_fallback:
                self._on_fallback = True
                logger.warning(
                    "rate limit %r: %s; pacing this process alone at %g a minute",
                    self.name,
                    exc,
                    self._fallback.per_minute,
                )
            return None
        if self._on_fallback:
            self._on_fallback = False
            logger.warning("rate limit %r: back on the fleet's limit", self.name)
        return int(wait) / 1e6, token

    async def _hand_back(self, token: Any) -> None:
        try:
            async with bounded("to give a turn back", self.timeout):
                await self._give_back(keys=[self.key], args=[self._interval, token])
        except RedisUnavailableError as exc:
            logger.debug("rate limit %r: turn not given back: %s", self.name, exc)
