"""Following a tracker's stream of updates through a consumer group, at least once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ._codec import Update, decode_update
from ._connection import bounded

__all__ = ["follow"]

Entry = tuple[Any, dict[Any, Any]]


def _entries(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply for one stream (RESP2 or RESP3)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(next(iter(reply.values()))[0] if reply else [])
    return list(reply[0][1])


def _field(fields: dict[Any, Any], name: str) -> Any:
    return fields.get(name, fields.get(name.encode()))


async def follow(
    redis: Redis,
    stream: str,
    *,
    group: str,
    consumer: str,
    count: int,
    block: float,
    claim_idle: float,
    timeout: float,
) -> AsyncIterator[Update]:
    """
    Yield the group's updates; acknowledge each when the next one is asked for.

    The group is created at the start of the stream if it does not exist, so
    it sees every update still in the stream. This consumer first takes back
    what it was handed and never acknowledged (a restart under the same name),
    then, every `claim_idle` seconds, updates another consumer has held that
    long without acknowledging (it died, or hangs), then waits for new ones.
    """
    async with bounded("to create a consumer group", timeout):
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
    wait = timeout + block
    own_pending = True
    claimed_at = time.monotonic()
    while True:
        if own_pending:
            async with bounded("to read this consumer's pending updates", wait):
                reply = await redis.xreadgroup(
                    group, consumer, {stream: "0"}, count=count
                )
            batch = _entries(reply)
            own_pending = bool(batch)
        elif time.monotonic() - claimed_at >= claim_idle:
            claimed_at = time.monotonic()
            async with bounded("to claim stale updates", wait):
                reply = await redis.xautoclaim(
                    stream, group, consumer, int(claim_idle * 1000), count=count
                )
            batch = [entry for entry in reply[1] if entry and entry[1]]
            if len(reply[1]) >= count:  # more may be waiting: claim again next
                claimed_at -= claim_idle
        else:
            async with bounded("to read updates", wait):
                reply = await redis.xreadgroup(
                    group, consumer, {stream: ">"}, count=count, block=int(block * 1000)
                )
            batch = _entries(reply)
        for entry_id, fields in batch:
            if fields:
                yield decode_update(_field(fields, "update"))
            async with bounded("to acknowledge an update", timeout):
                await redis.xack(stream, group, entry_id)
