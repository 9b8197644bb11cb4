"""The client-wide token bucket (`rate_limit=`) and the shared pause after a 429."""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings, strategies as st

from tests._helpers import ANSWERS, CALLS, run_retries_on, throttled
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import APITimeoutError, RateLimitError, ToplistClient, _client
from toplist_async._ratelimit import TokenBucket

WINDOW = 60.0
EPS = 1e-6


def busiest_window(starts: Iterable[float]) -> int:
    """The most start times found in any 60-second window [s, s + 60)."""
    times = sorted(starts)
    most = 0
    low = 0
    for high, end in enumerate(times):
        while times[low] <= end - WINDOW + EPS:
            low += 1
        most = max(most, high - low + 1)
    return most


class Now:
    """A clock a test sets by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


# --- the bucket on its own ----------------------------------------------------------


@pytest.mark.parametrize(
    ("per_minute", "burst", "immediate", "spacing"),
    [
        pytest.param(60, None, 6, 60 / 54, id="60-per-min-default-burst-6"),
        pytest.param(120, 1, 1, 60 / 119, id="120-per-min-burst-1"),
        pytest.param(5, None, 1, 15.0, id="5-per-min-burst-at-least-1"),
        pytest.param(30, 10, 10, 3.0, id="30-per-min-burst-10"),
    ],
)
def test_burst_then_even_spacing(
    per_minute: int, burst: int | None, immediate: int, spacing: float
) -> None:
    """A full bucket lets `burst` go at once; the rest of a minute is spread evenly."""
    now = Now()
    bucket = TokenBucket(per_minute, burst=burst, clock=now)
    waits = [bucket.reserve() for _ in range(immediate + 5)]
    assert waits[:immediate] == [0.0] * immediate
    assert waits[immediate:] == pytest.approx([k * spacing for k in range(1, 6)])


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    """After a long idle spell only `burst` requests go at once, not all it earned."""
    now = Now()
    bucket = TokenBucket(60, burst=4, clock=now)
    assert [bucket.reserve() for _ in range(4)] == [0.0] * 4
    now.t += 1000
    waits = [bucket.reserve() for _ in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4:] == pytest.approx([60 / 56, 2 * 60 / 56])


def test_partial_refill_is_counted() -> None:
    """Time spent waiting refills tokens at per_minute - burst per minute."""
    now = Now()
    bucket = TokenBucket(70, burst=10, clock=now)  # refills one token a second
    for _ in range(10):
        bucket.reserve()
    now.t += 2.5
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.5])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    per_minute=st.integers(min_value=1, max_value=240),
    burst_share=st.none() | st.floats(min_value=0.0, max_value=1.0),
    gaps=st.lists(
        st.one_of(
            st.just(0.0),
            st.floats(min_value=0.0, max_value=2.0),
            st.floats(min_value=0.0, max_value=90.0),
        ),
        min_size=1,
        max_size=400,
    ),
)
def test_never_more_than_per_minute_in_any_window(
    per_minute: int, burst_share: float | None, gaps: list[float]
) -> None:
    """Whatever the arrivals, no 60 s window holds more than per_minute starts."""
    now = Now(0.0)
    burst = None if burst_share is None else max(1, round(burst_share * per_minute))
    bucket = TokenBucket(per_minute, burst=burst, clock=now)
    starts: list[float] = []
    for gap in gaps:
        now.t += gap
        wait = bucket.reserve()
        assert wait >= 0
        starts.append(now.t + wait)
    assert busiest_window(starts) <= per_minute
    # Arrival order is start order: nobody is overtaken.
    assert all(b >= a - EPS for a, b in itertools.pairwise(starts))


def test_long_seeded_run_keeps_the_limit_and_the_pace() -> None:
    """Over hours of random traffic the limit holds and saturated minutes use it all."""
    rng = random.Random(20240611)
    now = Now(0.0)
    bucket = TokenBucket(100, clock=now)
    starts = []
    for _ in range(20_000):
        now.t += rng.expovariate(3.0)  # about 180 arrivals a minute: saturated
        starts.append(now.t + bucket.reserve())
    # Full use: the burst plus a minute of refill, the last token landing on
    # the window's edge (so 99 in a half-open minute, 100 closed).
    assert 99 <= busiest_window(starts) <= 100
    minutes = (starts[-1] - starts[0]) / WINDOW
    assert len(starts) / minutes == pytest.approx(90, rel=0.02)  # the refill rate


class ParkingClock:
    """A clock whose `sleep()` parks until `wake_next()` moves time to its end."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    @property
    def parked(self) -> list[float]:
        """When each live sleeper is due, soonest first."""
        return sorted(when for when, _, f in self._sleepers if not f.done())

    def wake_next(self) -> None:
        """Move to the soonest sleeper's end and wake every sleeper due then."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        when = self._sleepers[0][0]
        self.now = max(self.now, when)
        while self._sleepers and self._sleepers[0][0] <= when:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)


async def quiet(clock: ParkingClock, tasks: list[asyncio.Task[Any]]) -> None:
    """Wait (really) until every task is finished or parked on the clock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3.0
    while True:
        for _ in range(10):
            await asyncio.sleep(0)
        done = sum(task.done() for task in tasks)
        if done + len(clock.parked) == len(tasks):
            return
        assert loop.time() < deadline, "the callers never settled"
        await asyncio.sleep(0.001)


async def drive(clock: ParkingClock, tasks: list[asyncio.Task[Any]]) -> None:
    """Move time from sleeper to sleeper until every task has finished."""
    while True:
        await quiet(clock, tasks)
        if all(task.done() for task in tasks):
            return
        clock.wake_next()


async def test_waiters_are_served_in_arrival_order() -> None:
    """Concurrent acquirers get tokens in the order they asked; later ones after."""
    clock = ParkingClock()
    bucket = TokenBucket(60, burst=2, clock=clock.monotonic)
    served: list[tuple[int, float]] = []

    async def take(n: int) -> None:
        await bucket.acquire(clock.sleep)
        served.append((n, clock.now))

    tasks = [asyncio.create_task(take(n)) for n in range(8)]
    await quiet(clock, tasks)
    clock.wake_next()  # t = 60/58: the first waiter
    await quiet(clock, tasks)
    tasks += [asyncio.create_task(take(n)) for n in (8, 9)]
    await drive(clock, tasks)
    assert [n for n, _ in served] == list(range(10))
    assert [t for _, t in served] == pytest.approx(
        [0.0, 0.0, *(k * 60 / 58 for k in range(1, 9))]
    )


async def test_acquire_returns_the_seconds_waited() -> None:
    """acquire() returns 0 for a token at hand and the wait it slept otherwise."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    bucket = TokenBucket(31, burst=1, clock=Now())
    assert await bucket.acquire(sleep) == 0.0
    assert await bucket.acquire(sleep) == pytest.approx(2.0)
    assert slept == pytest.approx([2.0])


async def test_a_cancelled_acquire_gives_its_token_back() -> None:
    """A waiter cancelled during its wait returns the token: the next takes its slot."""
    clock = ParkingClock()
    bucket = TokenBucket(61, burst=1, clock=clock.monotonic)  # one a second
    assert await bucket.acquire(clock.sleep) == 0.0
    waiter = asyncio.create_task(bucket.acquire(clock.sleep))
    await quiet(clock, [waiter])
    assert clock.parked == [1.0]
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.reserve() == pytest.approx(1.0)  # not 2.0: the slot came back
    assert bucket.reserve() == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("per_minute", "burst"),
    [
        pytest.param(0, None, id="zero-per-minute"),
        pytest.param(-10, None, id="negative-per-minute"),
        pytest.param(math.nan, None, id="nan-per-minute"),
        pytest.param(60, 0, id="zero-burst"),
        pytest.param(60, -2, id="negative-burst"),
    ],
)
def test_invalid_arguments_are_refused(per_minute: float, burst: int | None) -> None:
    """A rate that is not positive or a burst below one raises ValueError."""
    with pytest.raises(ValueError, match=r"rate_limit|burst"):
        TokenBucket(per_minute, burst=burst)


def test_a_burst_above_the_limit_is_refused() -> None:
    """A burst larger than per_minute would break the per-minute promise: refused."""
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, burst=20)


@pytest.mark.parametrize("rate_limit", [0, -1.5])
def test_client_refuses_a_rate_limit_that_is_not_positive(rate_limit: float) -> None:
    """ToplistClient(rate_limit=...) must be a positive number of requests a minute."""
    with pytest.raises(ValueError, match="rate_limit"):
        ToplistClient(API_KEY, rate_limit=rate_limit)


@pytest.mark.parametrize("rate_limit", ["60", True, object()])
def test_client_refuses_a_rate_limit_that_is_neither_a_number_nor_a_limiter(
    rate_limit: Any,
) -> None:
    """Anything but a number or a `RateLimiter` is a TypeError that says what fits."""
    with pytest.raises(TypeError, match="rate_limit must be requests per minute or"):
        ToplistClient(API_KEY, rate_limit=rate_limit)


# --- through the client -------------------------------------------------------------


class Timeline(ParkingClock):
    """The clock of the retry policy, tenacity and the client's bucket at once."""

    def __init__(self, record: list[float]) -> None:
        super().__init__()
        self.record = record
        self.auto = False
        """Sleep by moving time at once (for one caller at a time)."""

    async def sleep(self, seconds: float) -> None:
        self.record.append(seconds)
        if self.auto:
            self.now += seconds
            return
        await super().sleep(seconds)


@pytest.fixture
def timeline(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> Timeline:
    """Run pauses, retries and the bucket on one fake clock; sleeps are recorded."""
    clock = Timeline(sleeps)
    run_retries_on(monkeypatch, clock.monotonic, clock.sleep)
    bucket = functools.partial(TokenBucket, clock=clock.monotonic)
    monkeypatch.setattr(_client, "TokenBucket", bucket)
    return clock


class Server:
    """Records when (on the timeline) each request arrived; `respond` answers it."""

    def __init__(self, scripted: ScriptedPanel, timeline: Timeline) -> None:
        self.timeline = timeline
        self.log: list[tuple[float, str]] = []
        self.respond: Callable[[int, str], Awaitable[web.Response]] = self.answer
        scripted.handler = self.handle

    async def answer(self, n: int, action: str) -> web.Response:
        return web.json_response(ANSWERS[action])

    async def handle(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        action = str(body["action"])
        self.log.append((self.timeline.now, action))
        return await self.respond(len(self.log), action)

    @property
    def times(self) -> list[float]:
        return [when for when, _ in self.log]


@pytest.fixture
def server(scripted: ScriptedPanel, timeline: Timeline) -> Server:
    return Server(scripted, timeline)


@pytest.mark.parametrize("action", list(CALLS))
async def test_every_action_waits_on_the_one_bucket(
    scripted: ScriptedPanel, timeline: Timeline, server: Server, action: str
) -> None:
    """Once other calls spent the burst, any action waits its turn; stats count it."""
    timeline.auto = True
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=60
    ) as client:
        for _ in range(6):  # the burst of 60 a minute
            await client.balance()
        assert timeline.record == []
        await CALLS[action](client)
        stats = client.stats
    assert timeline.record == pytest.approx([60 / 54])
    assert server.log[-1][1] == action
    assert server.log[-1][0] == pytest.approx(60 / 54)
    assert stats.rate_limit_waits == 1
    assert stats.rate_limit_pauses == 0


async def test_without_rate_limit_nothing_waits(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """By default the client sends at once however many calls it gets."""
    timeline.auto = True
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        for _ in range(30):
            await client.balance()
        stats = client.stats
    assert timeline.record == []
    assert server.times == [0.0] * 30
    assert stats.rate_limit_waits == 0


async def test_a_retry_also_waits_on_the_bucket(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """Each attempt takes a token: a retry after a 500 keeps the pace too."""
    timeline.auto = True

    async def respond(n: int, action: str) -> web.Response:
        if n == 1:
            return web.Response(status=500, text="<html>oops</html>")
        return web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=6
    ) as client:  # a burst of 1, then one every 12 s
        await client.balance()
        stats = client.stats
    assert server.times == pytest.approx([0.0, 12.0])
    assert stats.retries == 1
    assert stats.rate_limit_waits == 1


async def test_concurrent_calls_never_exceed_the_limit(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """70 concurrent calls at 30 a minute: never over 30 in any minute, evenly paced."""
    # The last turn comes at 149 s: a deadline below it would fail those calls.
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=30, retry_deadline=300
    ) as client:
        tasks = [asyncio.create_task(client.balance()) for _ in range(70)]
        await drive(timeline, tasks)
        await asyncio.gather(*tasks)
        stats = client.stats
    times = server.times
    assert len(times) == 70
    assert busiest_window(times) <= 30
    assert times.count(0.0) == 3  # the burst
    assert stats.rate_limit_waits == sum(1 for t in times if t > 0)
    assert max(times) == pytest.approx(67 * 60 / 27)


async def test_429_pause_holds_callers_that_start_during_it(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """After a 429 with Retry-After: 3, no call of the client is sent before 3 s."""

    async def respond(n: int, action: str) -> web.Response:
        return throttled(3) if n == 1 else web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        first: list[asyncio.Task[Any]] = [asyncio.create_task(client.balance())]
        await quiet(timeline, first)
        assert timeline.parked == [3.0]
        others = [
            asyncio.create_task(CALLS[action](client))
            for action in ("services", "balance", "add")
        ]
        tasks = first + others
        await quiet(timeline, tasks)
        assert timeline.parked == [3.0] * 4  # everyone waits for the same moment
        assert server.times == [0.0]
        await drive(timeline, tasks)
        await asyncio.gather(*tasks)
        stats = client.stats
    assert server.times == [0.0, 3.0, 3.0, 3.0, 3.0]
    assert sorted(action for _, action in server.log[1:]) == [
        "add",
        "balance",
        "balance",
        "services",
    ]
    assert stats.rate_limit_pauses == 1
    assert stats.retries == 1


async def test_429_pause_holds_callers_already_waiting_on_the_bucket(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """A caller whose bucket wait ends inside a 429 pause still waits for the pause."""

    async def respond(n: int, action: str) -> web.Response:
        return throttled(3) if n == 1 else web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=60
    ) as client:
        # 6 go at once (the burst, one of them gets the 429); the 7th waits
        # for the bucket until 60/54 s, inside the pause that ends at 3 s.
        tasks = [asyncio.create_task(client.balance()) for _ in range(7)]
        await drive(timeline, tasks)
        await asyncio.gather(*tasks)
        stats = client.stats
    assert server.times[:6] == [0.0] * 6
    inside_pause = [t for t in server.times if 0.0 < t < 3.0]
    assert inside_pause == [], f"requests sent during the 429 pause at {inside_pause}"
    assert stats.rate_limit_pauses == 1


async def test_a_later_longer_429_extends_the_pause_for_callers_already_paused(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """A second 429 (Retry-After: 5 at t=1) keeps everyone paused until t=6."""
    release = asyncio.Event()

    async def respond(n: int, action: str) -> web.Response:
        if n == 1:
            return throttled(3)
        if n == 2:  # in flight before the first 429; the panel answers at t=1
            await release.wait()
            return throttled(5)
        return web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(client.balance()) for _ in range(2)
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3
        while len(server.log) < 2 or len(timeline.parked) < 1:
            assert loop.time() < deadline
            await asyncio.sleep(0.001)
        tasks.append(asyncio.create_task(client.services()))  # paused until 3
        while len(timeline.parked) < 2:
            assert loop.time() < deadline
            await asyncio.sleep(0.001)
        assert timeline.parked == [3.0, 3.0]
        timeline.now = 1.0
        release.set()
        await drive(timeline, tasks)
        await asyncio.gather(*tasks)
        stats = client.stats
    assert server.times[:2] == [0.0, 0.0]
    assert server.times[2:] == [6.0, 6.0, 6.0], server.log
    assert stats.rate_limit_pauses == 2


@pytest.mark.parametrize(
    ("rate_limit", "at_once"),
    [
        pytest.param(60, 6, id="bucket-spreads-the-retries"),
        pytest.param(None, 21, id="no-bucket-all-resume-together"),
    ],
)
async def test_after_a_pause_callers_resume_at_the_bucket_pace(
    scripted: ScriptedPanel,
    timeline: Timeline,
    server: Server,
    rate_limit: int | None,
    at_once: int,
) -> None:
    """When the pause ends, at most the burst goes at once; the rest keep the pace."""

    async def respond(n: int, action: str) -> web.Response:
        return throttled(3) if n == 1 else web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=rate_limit
    ) as client:
        tasks = [asyncio.create_task(client.balance())]
        await quiet(timeline, tasks)
        tasks += [asyncio.create_task(client.balance()) for _ in range(20)]
        await drive(timeline, tasks)
        await asyncio.gather(*tasks)
        stats = client.stats
    times = server.times
    assert times[0] == 0.0
    later = sorted(times[1:])
    assert len(later) == 21
    assert min(later) == 3.0
    assert later.count(3.0) == at_once
    if rate_limit is not None:
        paced = later[at_once - 1 :]
        gaps = [b - a for a, b in itertools.pairwise(paced)]
        assert gaps == pytest.approx([60 / 54] * len(gaps))
        assert busiest_window(times) <= rate_limit
        assert stats.rate_limit_waits == sum(1 for t in times if t > 3.0)
    assert stats.rate_limit_pauses == 1


async def test_retry_after_above_the_cap_is_raised_without_pausing(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """A Retry-After longer than a minute is raised, and other calls are not held."""
    timeline.auto = True

    async def respond(n: int, action: str) -> web.Response:
        return throttled(120) if n == 1 else web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=60
    ) as client:
        with pytest.raises(RateLimitError):
            await client.balance()
        await client.services()
        stats = client.stats
    assert server.times == [0.0, 0.0]
    assert stats.rate_limit_pauses == 0


# --- the deadline bounds the wait ---------------------------------------------------


@pytest.mark.parametrize("action", ["balance", "add"])
async def test_a_turn_past_the_deadline_fails_at_once_unsent(
    scripted: ScriptedPanel, timeline: Timeline, server: Server, action: str
) -> None:
    """Turns at 0, 12 and 24 s with a 20 s deadline: the third call is not sent."""
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=6, retry_deadline=20
    ) as client:  # a burst of 1, then one every 12 s
        tasks = [asyncio.create_task(CALLS[action](client)) for _ in range(3)]
        await drive(timeline, tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        stats = client.stats
    late = results[2]
    assert isinstance(late, APITimeoutError)
    assert late.request_sent is False
    assert "retry_deadline" in str(late)
    assert not any(isinstance(result, Exception) for result in results[:2])
    assert server.times == pytest.approx([0.0, 12.0])  # the bound: 20 s + timeout
    assert timeline.now == pytest.approx(12.0)  # the late call did not wait first
    assert stats.rate_limit_waits == 1


async def test_its_token_goes_to_the_next_caller(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """The call that gave up leaves its turn: a later call gets the 24 s turn."""
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=6, retry_deadline=20
    ) as client:
        tasks = [asyncio.create_task(client.balance()) for _ in range(3)]
        await drive(timeline, tasks)
        later = [asyncio.create_task(client.balance())]  # asks at 12 s: turn at 24
        await drive(timeline, later)
        await later[0]
    assert server.times == pytest.approx([0.0, 12.0, 24.0])


async def test_a_429_pause_past_the_deadline_fails_the_waiting_call_at_once(
    scripted: ScriptedPanel, timeline: Timeline, server: Server
) -> None:
    """A 429 asking for 50 s: a call started in the pause with 20 s left is not sent."""
    timeline.auto = True

    async def respond(n: int, action: str) -> web.Response:
        return throttled(50) if n == 1 else web.json_response(ANSWERS[action])

    server.respond = respond
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, retry_deadline=20, max_retries=0
    ) as client:
        with pytest.raises(RateLimitError):
            await client.balance()
        with pytest.raises(APITimeoutError) as info:
            await client.balance()
    assert info.value.request_sent is False
    assert server.times == [0.0]
    assert timeline.record == []
