"""
Tracking as a bot runs it: orders tracked over time, and an idle tracker.

`steady_state()`: orders placed and tracked one by one at uniformly random
times over `span` simulated seconds, on an in-process FakePanel whose orders
take minutes to finish (5 s pending, then 50 units a second, 3,000 to 15,000
units: about 1 to 5 minutes). Simulated time moves from one event to the next
(an order placed, the tracker's next wake-up) and only once every poll of the
moment was answered. Figures, over the steady window (the second half of the
span, when about as many orders finish as start) and over the whole run: ids
per status request as the panel received them, status requests per simulated
minute, and the share of polls outside [80 %, 110 %] of their order's gap (the
gap the schedule set; an order's first poll has none).

`idle_cpu()`: one tracker of `orders` open orders at the 5-minute cap (interval
= max_interval = 300 s) on the real clock, against a panel in another process.
Once its first round is answered nothing is due for 300 s; the process's CPU
time over `window` wall seconds, as a share of one core, is the tracker's cost
between rounds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from decimal import Decimal
from typing import Any

from toplist_async import OrderTracker, ToplistClient
from toplist_async.testing import FakePanel

from ._common import print_table

__all__ = ["idle_cpu", "report_idle", "report_live", "steady_state"]

KEY = "test-key"
LINK = "https://example.com/post/1"
EARLY, LATE = 0.8, 1.1  # the documented slack
MIN_IDS_PER_REQUEST = 90  # targets from the issue
MAX_IDLE_CORE_SHARE = 0.01


class EventClock:
    """The tracker's clock and sleep; time moves to the next event, never alone."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), future))
        await future

    def next_wake(self) -> float:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else float("inf")

    def fire(self) -> None:
        """Wake every sleeper due by now."""
        while self._sleepers and self._sleepers[0][0] <= self.now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)


async def _settled(tracker: OrderTracker, clock: EventClock) -> None:
    """Until no poll runs and the scheduler sleeps on the clock (or has ended)."""
    while True:
        for _ in range(5):
            await asyncio.sleep(0)
        if tracker._polls:
            await asyncio.wait(set(tracker._polls))
            continue
        scheduler = tracker._scheduler
        if clock.next_wake() < float("inf") or scheduler is None or scheduler.done():
            return


def _record_slack(tracker: OrderTracker) -> list[tuple[float, float]]:
    """(poll time, gap / scheduled gap) of every poll after an order's first."""
    book = getattr(tracker, "_book", None)
    shares: list[tuple[float, float]] = []
    if book is None:
        return shares  # a tracker from before the schedule module: no plans
    last: dict[int, float] = {}
    cls = type(book)
    take = cls.take_round

    def take_round(self: Any, now: float) -> tuple[list[list[int]], float | None]:
        requests: list[list[int]]
        requests, wake = take(self, now)
        if self is book:
            for request in requests:
                for key in request:
                    if key in last:
                        gap = (now - last[key]) / book.orders[key].plan.interval
                        shares.append((now, gap))
                    last[key] = now
        return requests, wake

    # The book has slots: its class is wrapped for this run (one tracker).
    cls.take_round = take_round
    return shares


async def steady_state(orders: int, span: float, seed: int = 1) -> dict[str, Any]:
    """Track `orders` placed at random times over `span` s; see the module doc."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, span) for _ in range(orders))
    quantities = [rng.randint(3_000, 15_000) for _ in range(orders)]
    panel = FakePanel(speed=0, balance=Decimal(10) ** 12, partial_rate=0.1, seed=seed)
    clock = EventClock()
    stamps: list[float] = []  # the simulated time of each request the panel got
    updates = 0
    async with panel as url, ToplistClient(KEY, base_url=url) as client:
        tracker = OrderTracker(client, clock=clock.time, sleep=clock.sleep)
        shares = _record_slack(tracker)

        async def consume() -> None:
            nonlocal updates
            async for _ in tracker:
                updates += 1

        consumer = asyncio.create_task(consume())
        started = time.perf_counter()
        placed = 0
        while placed < orders or tracker.tracked:
            when = min(
                arrivals[placed] if placed < orders else float("inf"), clock.next_wake()
            )
            if when == float("inf"):
                break
            if when > clock.now:
                panel.advance(when - clock.now)
                clock.now = when
            clock.fire()
            while placed < orders and arrivals[placed] <= clock.now:
                order = await client.add(
                    service=1, link=LINK, quantity=quantities[placed]
                )
                tracker.track(order)
                placed += 1
            await _settled(tracker, clock)
            stamps += [clock.now] * (len(panel.requests) - len(stamps))
        wall = time.perf_counter() - started
        await tracker.aclose()
        await consumer
    requests = panel.requests

    def window(start: float, end: float) -> dict[str, Any]:
        sizes = [
            len(record.orders)
            for record, at in zip(requests, stamps, strict=False)
            if record.action == "status" and start <= at < end
        ]
        gaps = [share for at, share in shares if start <= at < end]
        outside = sum(1 for share in gaps if not EARLY - 1e-9 <= share <= LATE)
        minutes = (min(end, clock.now) - start) / 60
        return {
            "from_s": start,
            "to_s": min(end, clock.now),
            "status_requests": len(sizes),
            "ids_per_request": sum(sizes) / len(sizes) if sizes else 0.0,
            "requests_per_minute": len(sizes) / minutes if minutes > 0 else 0.0,
            "polls_timed": len(gaps),
            "share_outside_slack": outside / len(gaps) if gaps else None,
            "earliest_share": min(gaps) if gaps else None,
            "latest_share": max(gaps) if gaps else None,
        }

    return {
        "orders": orders,
        "span_s": span,
        "simulated_s": clock.now,
        "wall_s": wall,
        "updates": updates,
        "steady": window(span / 2, span),
        "whole": window(0, float("inf")),
    }


async def idle_cpu(url: str, ids: list[int], window: float) -> dict[str, Any]:
    """CPU share of one core of a tracker at the 300 s cap between rounds."""
    async with ToplistClient(KEY, base_url=url) as client:
        tracker = OrderTracker(client, interval=300, max_interval=300, growth=1)
        started = time.perf_counter()
        for order in ids:
            tracker.track(order)
        while client.stats.ids_requested < len(ids):  # noqa: ASYNC110 - a counter
            await asyncio.sleep(0.05)
        first_round = time.perf_counter() - started
        await asyncio.sleep(1)  # the last answers are read
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        requests = client.stats.requests.get("status", 0)
        await tracker.aclose()
    return {
        "orders": len(ids),
        "first_round_wall_s": first_round,
        "status_requests": requests,
        "window_s": wall,
        "cpu_s": cpu,
        "core_share": cpu / wall,
    }


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def report_live(live: dict[str, Any]) -> list[dict[str, Any]]:
    """Print the steady-state table; return its targets."""
    rows = []
    for label, figures in (("steady", live["steady"]), ("whole run", live["whole"])):
        rows.append(
            [
                f"{label} ({figures['from_s']:.0f}-{figures['to_s']:.0f} s)",
                f"{figures['status_requests']:,}",
                f"{figures['ids_per_request']:.1f}",
                f"{figures['requests_per_minute']:,.0f}",
                f"{figures['polls_timed']:,}",
                _share(figures["share_outside_slack"]),
                _share(figures["earliest_share"]),
                _share(figures["latest_share"]),
            ]
        )
    print_table(
        f"Orders tracked over time: {live['orders']:,} placed at random times over "
        f"{live['span_s']:.0f} simulated s, each taking 1-5 minutes "
        f"({live['simulated_s']:.0f} simulated s, {live['wall_s']:.0f} s wall)",
        [
            "window",
            "status requests",
            "ids/request",
            "requests/min",
            "polls timed",
            "outside [80%, 110%]",
            "earliest",
            "latest",
        ],
        rows,
    )
    steady = live["steady"]
    return [
        {
            "target": f"mean ids per status request at steady state >= "
            f"{MIN_IDS_PER_REQUEST}",
            "value": f"{steady['ids_per_request']:.1f}",
            "pass": steady["ids_per_request"] >= MIN_IDS_PER_REQUEST,
        },
        {
            "target": "share of steady-state polls outside [80 %, 110 %] of their gap",
            "value": _share(steady["share_outside_slack"]),
            "pass": (steady["share_outside_slack"] or 0.0) <= 0.01,
        },
    ]


def report_idle(idle: dict[str, Any]) -> list[dict[str, Any]]:
    """Print the idle-tracker table; return its target."""
    print_table(
        f"Idle tracker: {idle['orders']:,} orders at the 300 s cap, real clock, "
        "after its first round",
        ["first round (wall s)", "window (wall s)", "CPU s", "share of one core"],
        [
            [
                f"{idle['first_round_wall_s']:.1f}",
                f"{idle['window_s']:.1f}",
                f"{idle['cpu_s']:.4f}",
                f"{idle['core_share']:.2%}",
            ]
        ],
    )
    return [
        {
            "target": f"idle tracker of {idle['orders']:,} orders between rounds "
            f"< {MAX_IDLE_CORE_SHARE:.0%} of a core",
            "value": f"{idle['core_share']:.2%}",
            "pass": idle["core_share"] < MAX_IDLE_CORE_SHARE,
        }
    ]
