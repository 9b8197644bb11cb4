"""Orders tracked in Redis: any number of worker processes poll them, none lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from .._arguments import order_id
from .._rounds import Book, Entry, fetch
from .._schedule import DEFAULTS, Schedule
from .._tracker import _log_error
from ._codec import Update, decode_entry, encode_entry, encode_update, ms
from ._events import follow
from ._store import Claim, Completion, Store

if TYPE_CHECKING:
    from .._client import ToplistClient

__all__ = ["RedisTracker"]

logger = logging.getLogger("toplist_async.redis")

# Orders looked at per free place in a claim when filling it with riders.
_RIDER_SCAN = 4
# Orders written to Redis per script call when tracking many at once.
_TRACK_CHUNK = 5_000


class RedisTracker:
    """
    Orders tracked in Redis, polled by any number of worker processes.

    Every process of a fleet builds one with the same `redis` and `name`:
    `await tracker.track(ids)` and `untrack(ids)` work from any of them, and
    `await tracker.run()` (in each worker) polls due orders until cancelled.
    The schedule and the error rules are the `OrderTracker`'s (`interval`,
    `growth`, `max_interval`, `first_poll`, `timeout`, shared requests of 100
    ids, poison isolation, `on_error`). Updates (first status, changes,
    refused or dropped orders, final status) go to a Redis stream that
    `tracker.events(group=..., consumer=...)` reads through a consumer group.

    A worker claims up to 100 orders at a time for `lease` seconds; if it
    dies, they are polled again once the lease ends, and its late answer, if
    any, is refused. A state change and its update are stored together. Keep
    `lease` well above a poll's time, rate-limit waits included. The stream
    keeps about `max_events` updates (0: all). Redis calls give up after
    `redis_timeout` seconds with `RedisUnavailableError`.
    """

    def __init__(
        self,
        redis: Redis,
        client: ToplistClient,
        *,
        name: str,
        interval: float = DEFAULTS.interval,
        growth: float = DEFAULTS.growth,
        max_interval: float = DEFAULTS.max_interval,
        first_poll: float = DEFAULTS.first_poll,
        timeout: float | None = None,
        lease: float = 60.0,
        claims: int = 4,
        max_events: int = 1_000_000,
        on_error: Callable[[BaseException, list[int]], None] = _log_error,
        redis_timeout: float = 2.0,
        idle: float = 1.0,
    ) -> None:
        if not name or not isinstance(name, str):
            msg = f"name must be a non-empty string, not {name!r}"
            raise ValueError(msg)
        if not lease > 0 or claims < 1 or max_events < 0 or not idle > 0:
            msg = "need lease > 0, claims >= 1, max_events >= 0 and idle > 0"
            raise ValueError(msg)
        self.rules = Schedule(
            interval=interval,
            growth=growth,
            max_interval=max_interval,
            first_poll=first_poll,
            timeout=timeout,
            capacity=client._batch_size,
        )
        self.name = name
        self._redis = redis
        self._client = client
        self._store = Store(redis, name, timeout=redis_timeout)
        self._lease_ms = ms(lease)
        self._claims = claims
        self._max_events = max_events
        self._on_error = on_error
        self._idle = idle
        self._last_answer = float("-inf")
        self.stale = 0
        """Orders whose poll came back after their lease ended (not stored)."""

    def __repr__(self) -> str:
        return f"RedisTracker(name={self.name!r})"

    async def track(self, orders: Iterable[int]) -> int:
        """Start following `orders`; return how many were not followed yet."""
        ids = [order_id(order) for order in orders]
        plan = self.rules.start(await self._store.now())
        state = encode_entry(Entry(plan), self.rules)
        added = 0
        for start in range(0, len(ids), _TRACK_CHUNK):
            chunk = ids[start : start + _TRACK_CHUNK]
            added += await self._store.track([(i, state, ms(plan.due)) for i in chunk])
        return added

    async def untrack(self, orders: Iterable[int]) -> int:
        """Stop following `orders`; return how many were followed."""
        ids = [order_id(order) for order in orders]
        return await self._store.untrack(ids) if ids else 0

    async def tracked(self) -> int:
        """How many orders are being followed."""
        return int(await self._redis.zcard(self._store.due))

    def events(
        self,
        *,
        group: str,
        consumer: str,
        count: int = 100,
        block: float = 0.5,
        claim_idle: float = 30.0,
    ) -> AsyncIterator[Update]:
        """
        The updates, through consumer group `group`, at least once.

        Several consumers of one group share the updates; each group gets all
        of them. An update is acknowledged when the loop asks for the next one,
        so one whose handling failed or was cut short by a crash comes again:
        to this `consumer` on restart, or to another of the group once it was
        held `claim_idle` seconds.
        """
        return follow(
            self._redis,
            self._store.events,
            group=group,
            consumer=consumer,
            count=count,
            block=block,
            claim_idle=claim_idle,
            timeout=self._store.timeout,
        )

    async def run(self) -> None:
        """
        Poll due orders until cancelled: the worker's loop.

        Raises what ends tracking (an `AuthenticationError` about the key, a
        closed client, `on_error` raising) and `RedisUnavailableError`.
        """
        polls: set[asyncio.Task[None]] = set()
        try:
            while True:
                for poll in [p for p in polls if p.done()]:
                    polls.discard(poll)
                    poll.result()  # a fatal error ends the worker
                if len(polls) >= self._claims:
                    await asyncio.wait(polls, return_when=asyncio.FIRST_COMPLETED)
                    continue
                claim = await self._store.claim(
                    self.rules.capacity, self._lease_ms, _RIDER_SCAN
                )
                if claim.states:
                    polls.add(asyncio.create_task(self._poll(claim)))
                    continue
                delay = self._idle
                if claim.next_due is not None:
                    delay = min(delay, max(0.0, (claim.next_due - claim.token) / 1000))
                if polls:
                    await asyncio.wait(polls, timeout=delay)
                else:
                    await asyncio.sleep(delay)
        finally:
            for poll in polls:
                poll.cancel()
            await asyncio.gather(*polls, return_exceptions=True)

    async def _poll(self, claim: Claim) -> None:
        """Poll one claim's orders and store what came back, fenced by the claim."""
        started = time.monotonic()
        rules = self.rules
        book = Book(rules)
        book.last_answer = self._last_answer
        gone: list[int] = []
        for key, text in claim.states.items():
            if text:
                book.orders[key] = decode_entry(text)
            else:
                gone.append(key)  # its state went missing: drop it
        now = claim.token / 1000
        requests = rules.pick_round([(k, e.plan) for k, e in book.orders.items()], now)
        client = self._client
        answers = await asyncio.gather(
            *(
                fetch(
                    client._statuses,
                    client._load_statuses if book.orders[r[0]].plan.failures else None,
                    r,
                )
                for r in requests
            )
        )
        results = {key: answer for one in answers for key, answer in one.items()}
        report = book.apply(results, now + time.monotonic() - started)
        if report.fatal is not None:
            raise report.fatal
        self._last_answer = max(self._last_answer, book.last_answer)
        updates = {update.order_id: update for update in report.updates}
        changes = [Completion(key, None, 0, None) for key in gone]
        for key in claim.states:
            update = updates.get(key)
            event = None if update is None else encode_update(update)
            entry = book.orders.get(key)
            if entry is None:
                if key not in gone:
                    changes.append(Completion(key, None, 0, event))
                continue
            state = encode_entry(entry, rules)
            changes.append(Completion(key, state, ms(entry.plan.due), event))
        fence = claim.token + self._lease_ms
        stale = await self._store.complete(fence, changes, self._max_events)
        if stale:
            self.stale += len(stale)
            logger.warning(
                "tracker %r: %d orders came back after their lease; not stored",
                self.name,
                len(stale),
            )
        if report.error is not None:
            self._on_error(report.error, report.failed)
