"""The test doubles of the tracker tests: a fake clock, a scripted status panel."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from toplist_async import OrderError, OrderStatus, OrderTracker, ToplistClient

Update = OrderStatus | OrderError

# --- a controlled clock -----------------------------------------------------------


class FakeClock:
    """
    Time that only `advance()` moves; `sleep()` parks until time passes its end.

    `advance()` wakes sleepers one due time after another and, before moving
    on, waits until every timer it fired has run: the task that slept is
    parked on this clock again or done, and the followed trackers have no poll
    under way (their polls go over real loopback HTTP). `linked` is told every
    step, so a FakePanel's simulated clock can move in lockstep.
    """

    def __init__(self, linked: Callable[[float], None] | None = None) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._parked: dict[asyncio.Task[Any], asyncio.Future[None]] = {}
        self._order = itertools.count()
        self._linked = linked
        self._trackers: list[OrderTracker] = []

    def __call__(self) -> float:
        return self.now

    def follow(self, tracker: OrderTracker) -> OrderTracker:
        """Let `settle()` wait for this tracker's polls and its scheduler."""
        self._trackers.append(tracker)
        return tracker

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), future))
        task = asyncio.current_task()
        assert task is not None
        self._parked[task] = future
        try:
            await future  # a cancelled sleep leaves its future cancelled: skipped
        finally:
            if self._parked.get(task) is future:
                del self._parked[task]

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await self.settle()
        while True:
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            when, _, future = heapq.heappop(self._sleepers)
            self._move_to(when)
            future.set_result(None)
            await self.settle()
        self._move_to(target)
        await self.settle()

    def _move_to(self, when: float) -> None:
        if when > self.now:
            if self._linked is not None:
                self._linked(when - self.now)
            self.now = when

    def _busy(self) -> bool:
        for task, future in self._parked.items():
            if future.done() and not task.done():
                return True  # woken, and not parked again yet
        for tracker in self._trackers:
            if tracker._polls:
                return True
            scheduler = tracker._scheduler
            if scheduler is None or scheduler.done():
                continue
            parked = self._parked.get(scheduler)
            if parked is None or parked.done():
                return True  # a scheduler that has not parked yet
        return False

    async def settle(self) -> None:
        """Run the loop until every timer fired has run and nothing is in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3.0
        while True:
            await asyncio.sleep(0)
            if not self._busy():
                # Twice in a row, a loop turn apart: a callback just scheduled
                # (a poll's answer delivered) has had its turn.
                await asyncio.sleep(0)
                if not self._busy():
                    return
            assert loop.time() < deadline, "the tracker never settled"
            await asyncio.sleep(0.001)


# --- a panel answering from per-order scripts -------------------------------------


def entry(
    status: str = "In progress",
    remains: int | None = 100,
    start_count: int | None = 0,
    charge: str = "1.50",
    currency: str = "USD",
) -> dict[str, Any]:
    """One order's answer as a panel writes it."""
    return {
        "charge": charge,
        "start_count": start_count,
        "status": status,
        "remains": remains,
        "currency": currency,
    }


REJECTED: dict[str, Any] = {"error": "Incorrect order ID"}


class Statuses:
    """
    Answers status requests: the n-th poll of an order gets the n-th entry of
    its script (the last one repeats; an unscripted order stays in progress).

    `polls` records, per request, the fake time and the ids it carried.
    `failing` answers every request with a 500, and so does any request that
    carries a `poison` id; `forbidden` ids make the whole request fail with
    403, as toplistbot does for another account's order; `left_out` ids are
    missing from the answers; `key_refused` answers 401, `throttled` 429.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.script: dict[int, list[dict[str, Any]]] = {}
        self.polls: list[tuple[float, tuple[int, ...]]] = []
        self.asked: defaultdict[int, int] = defaultdict(int)
        self.failing = False
        self.forbidden: set[int] = set()
        self.poison: set[int] = set()
        self.left_out: set[int] = set()
        self.key_refused = False
        self.throttled = False
        self.hold: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    def times(self, order: int) -> list[float]:
        """The fake times at which `order` was asked for (once per moment)."""
        return sorted({when for when, ids in self.polls if order in ids})

    def rounds(self) -> dict[float, list[tuple[int, ...]]]:
        grouped: defaultdict[float, list[tuple[int, ...]]] = defaultdict(list)
        for when, ids in self.polls:
            grouped[when].append(ids)
        return dict(grouped)

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        assert body["action"] == "status"
        ids = tuple(int(token) for token in str(body["orders"]).split(","))
        self.polls.append((self.clock.now, ids))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()  # in the server's own task: no task of ours
        if self.key_refused:
            return web.json_response({"message": "Unauthenticated."}, status=401)
        if self.throttled:
            return web.json_response({"message": "Too Many Attempts."}, status=429)
        if self.failing or self.poison & set(ids):
            return web.Response(status=500, text="<html>502 Bad Gateway</html>")
        if self.forbidden & set(ids):
            return web.json_response(
                {"error": "Unauthorized access to order status"}, status=403
            )
        answer: dict[str, Any] = {}
        for order in ids:
            if order in self.left_out:
                continue
            script = self.script.get(order, [entry()])
            answer[str(order)] = script[min(self.asked[order], len(script) - 1)]
            self.asked[order] += 1
        return web.json_response(answer)


class Collector:
    """Iterates a tracker in a task of its own and keeps every update."""

    def __init__(self, tracker: OrderTracker) -> None:
        self.updates: list[Update] = []
        self.task = asyncio.create_task(self._run(tracker))

    async def _run(self, tracker: OrderTracker) -> None:
        async for update in tracker:
            self.updates.append(update)

    def of(self, order: int) -> list[tuple[object, ...]]:
        """The updates about `order`, as comparable tuples."""
        return [shape(update) for update in self.updates if order_of(update) == order]


async def everything(tracker: OrderTracker) -> list[Update]:
    """Every update of an iteration (bound it with a timeout: it may never end)."""
    return [update async for update in tracker]


def order_of(update: Update) -> int:
    return update.order_id


def shape(update: Update) -> tuple[object, ...]:
    if isinstance(update, OrderError):
        return ("error", update.order_id)
    return (update.status, update.remains, update.start_count)


def library_tasks() -> set[asyncio.Task[Any]]:
    """Running tasks other than this test's and the aiohttp server's own."""
    current = asyncio.current_task()
    left = set()
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if task is current or "aiohttp/web_" in filename.replace("\\", "/"):
            continue
        left.add(task)
    return left


def watch(
    client: ToplistClient, clock: FakeClock, orders: Iterable[int], **options: Any
) -> OrderTracker:
    """`client.watch()` on the fake clock, followed by it."""
    return clock.follow(client.watch(orders, clock=clock, sleep=clock.sleep, **options))


def long_lived(
    client: ToplistClient, clock: FakeClock, orders: Iterable[int] = (), **options: Any
) -> OrderTracker:
    """A long-lived `OrderTracker` on the fake clock, followed by it."""
    return clock.follow(
        OrderTracker(client, orders, clock=clock, sleep=clock.sleep, **options)
    )
