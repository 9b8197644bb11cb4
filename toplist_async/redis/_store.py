"""One tracker's keys in Redis and the scripts that change them atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ._connection import bounded

__all__ = ["Claim", "Completion", "Store"]

# Scores of `due` are milliseconds of the server's clock: when an order is due,
# or, while a worker holds it, when that worker's lease ends. A claim returns
# its time as the fencing token: the lease holds while the score is still
# token + lease and that moment has not passed.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Due orders first, then, if the request has room, orders not yet due whose
# state says they may ride along now (the schedule's rule, written by Python)
# and that are not held by another worker (score equal to their due time).
_CLAIM = (
    _NOW
    + """
local n, lease, scan = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local held = now + lease
local out = {now, -1}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n)
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], held, id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
local room = n - #due
if #due > 0 and room > 0 then
  local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf',
    'WITHSCORES', 'LIMIT', 0, room * scan)
  for i = 1, #later, 2 do
    if room == 0 then break end
    local id, score = later[i], tonumber(later[i + 1])
    local state = redis.call('HGET', KEYS[2], id)
    if state then
      local earliest, at = string.match(state, '^(%d+)|(%d+)|')
      if tonumber(earliest) <= now and tonumber(at) == score then
        redis.call('ZADD', KEYS[1], held, id)
        out[#out + 1] = id
        out[#out + 1] = state
        room = room - 1
      end
    end
  end
end
if #due == 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then out[2] = first[2] end
end
return out
"""
)

# Each entry: id, then '' to drop the order or its new state and due time,
# then its event ('' for none). A completion whose lease no longer holds
# changes nothing for that order; its id is returned.
_COMPLETE = (
    _NOW
    + """
local fence = tonumber(ARGV[1])
local stale = {}
for i = 3, #ARGV, 4 do
  local id, state, at, event = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) == fence and now < fence then
    if state == '' then
      redis.call('ZREM', KEYS[1], id)
      redis.call('HDEL', KEYS[2], id)
    else
      redis.call('HSET', KEYS[2], id, state)
      redis.call('ZADD', KEYS[1], at, id)
    end
    if event ~= '' then
      if ARGV[2] == '0' then
        redis.call('XADD', KEYS[3], '*', 'order', id, 'update', event)
      else
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
          'order', id, 'update', event)
      end
    end
  else
    stale[#stale + 1] = id
  end
end
return stale
"""
)

_TRACK = """
local added = 0
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
    added = added + 1
  end
end
return added
"""

_UNTRACK = """
local removed = 0
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  removed = removed + redis.call('HDEL', KEYS[2], id)
end
return removed
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """Orders one worker holds until `token + lease` (server milliseconds)."""

    token: int
    """The claim's time, in milliseconds of the server's clock."""
    states: dict[int, Any]
    """Each claimed order's stored state."""
    next_due: int | None
    """With nothing claimed: the first score in the set (when to look again)."""


@dataclass(frozen=True, slots=True)
class Completion:
    """What a poll changes for one claimed order."""

    order: int
    state: str | None
    """Its new state; None drops the order."""
    due: int
    event: bytes | None


class Store:
    """The keys of tracker `name`, sharing one hash tag (one Redis Cluster slot)."""

    def __init__(self, redis: Redis, name: str, *, timeout: float) -> None:
        tag = f"toplist:{{{name}}}"
        self.due, self.state, self.events = (
            f"{tag}:due",
            f"{tag}:state",
            f"{tag}:events",
        )
        self.redis = redis
        self.timeout = timeout
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)
        self._track = redis.register_script(_TRACK)
        self._untrack = redis.register_script(_UNTRACK)

    async def now(self) -> float:
        """The server's clock, in seconds."""
        async with bounded("to read its clock", self.timeout):
            seconds, micros = await self.redis.time()
        return seconds + micros / 1e6

    async def track(self, entries: Sequence[tuple[int, str, int]]) -> int:
        """Add (id, state, due) for ids not tracked yet; return how many were new."""
        args = [value for entry in entries for value in entry]
        async with bounded("to track orders", self.timeout):
            return int(await self._track(keys=[self.due, self.state], args=args))

    async def untrack(self, ids: Sequence[int]) -> int:
        """Forget `ids`; return how many were tracked. A poll in flight is refused."""
        async with bounded("to untrack orders", self.timeout):
            return int(await self._untrack(keys=[self.due, self.state], args=ids))

    async def claim(self, limit: int, lease_ms: int, scan: int) -> Claim:
        """Hold up to `limit` orders due now (and riders) for `lease_ms`."""
        async with bounded("to claim orders", self.timeout):
            reply = await self._claim(
                keys=[self.due, self.state], args=[limit, lease_ms, scan]
            )
        next_due = int(float(reply[1])) if len(reply) == 2 and reply[1] != -1 else None
        states = {int(reply[i]): reply[i + 1] for i in range(2, len(reply), 2)}
        return Claim(int(reply[0]), states, next_due)

    async def complete(
        self, fence: int, changes: Sequence[Completion], max_events: int
    ) -> list[int]:
        """Store `changes` if the lease ending at `fence` holds; return stale ids."""
        args: list[Any] = [fence, max_events]
        for change in changes:
            args += [change.order, change.state or "", change.due, change.event or ""]
        keys = [self.due, self.state, self.events]
        async with bounded("to store a poll", self.timeout):
            stale = await self._complete(keys=keys, args=args)
        return [int(order) for order in stale]
