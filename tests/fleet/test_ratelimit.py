"""`RedisRateLimit`: one GCRA schedule in a real Redis, shared by every client."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from redis.asyncio import Redis

from tests._helpers import ANSWERS, throttled
from tests.conftest import API_KEY, ScriptedPanel
from tests.fleet.conftest import start_or_skip
from toplist_async import RateLimitError, ToplistClient, ToplistError
from toplist_async.redis import RedisRateLimit, RedisUnavailableError, connect
from toplist_async.testing._redis_server import RedisServer

# per_minute=3 with a burst of 1: one turn every 30 s of the server's clock.
SPACING = 30.0
# Slack for the time Redis's clock moves between two calls of one test.
SLACK = 5.0


def limiter(redis: Redis, **options: object) -> RedisRateLimit:
    settings: dict[str, object] = {"name": "fleet", "per_minute": 3, "burst": 1}
    settings.update(options)
    return RedisRateLimit(redis, **settings)  # type: ignore[arg-type]


class Recorder:
    """A sleep that records its waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def other(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A second client, as another process of the fleet would have (decoding)."""
    client = connect(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_turns_are_spaced_on_the_servers_clock(redis: Redis) -> None:
    first, second, third = [await limiter(redis).acquire(Recorder()) for _ in range(3)]
    assert first == 0.0
    assert SPACING - SLACK < second <= SPACING
    assert 2 * SPACING - SLACK < third <= 2 * SPACING


async def test_a_burst_starts_at_once_then_the_steady_pace(redis: Redis) -> None:
    # 60 a minute with a burst of 3: 3 at once, then one every 60 / 57 s.
    shared = limiter(redis, per_minute=60, burst=3)
    waits = [await shared.acquire(Recorder()) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 60 / 57 - SLACK / 10 < waits[3] <= 60 / 57
    assert waits[4] == pytest.approx(2 * waits[3], abs=SLACK / 10)


async def test_two_clients_take_turns_on_one_schedule(
    redis: Redis, other: Redis, scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    async def answer(request: web.Request, body: dict[str, object]) -> web.Response:
        return web.json_response(ANSWERS["balance"])

    scripted.handler = answer
    url = scripted.base_url
    # The sleeps are recorded, not slept: Redis's clock stays put and the turns
    # pile up to 90 s ahead, past the default retry_deadline.
    first = ToplistClient(
        API_KEY, base_url=url, rate_limit=limiter(redis), retry_deadline=300
    )
    second = ToplistClient(
        API_KEY, base_url=url, rate_limit=limiter(other), retry_deadline=300
    )
    async with first, second:
        for client in (first, second, first, second):
            await client.balance()
    assert len(scripted.received) == 4
    assert len(sleeps) == 3  # the first turn came at once
    for turn, wait in enumerate(sleeps, start=1):
        assert turn * SPACING - SLACK < wait <= turn * SPACING


async def test_a_cancelled_waiter_gives_its_turn_back(redis: Redis) -> None:
    shared = limiter(redis)
    await shared.acquire(Recorder())
    waiting, forever = asyncio.Event(), asyncio.Event()

    async def blocked(seconds: float) -> None:
        waiting.set()
        await forever.wait()

    waiter = asyncio.create_task(shared.acquire(blocked))
    await waiting.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    wait = await shared.acquire(Recorder())
    assert SPACING - SLACK < wait <= SPACING


async def test_a_429_pauses_every_client_of_the_fleet(
    redis: Redis, other: Redis, scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    async def answer(request: web.Request, body: dict[str, object]) -> web.Response:
        if len(scripted.received) == 1:
            return throttled(50)
        return web.json_response(ANSWERS["balance"])

    scripted.handler = answer
    fast = {"per_minute": 600, "burst": 10}
    url = scripted.base_url
    hit = ToplistClient(
        API_KEY, base_url=url, max_retries=0, rate_limit=limiter(redis, **fast)
    )
    bystander = ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=limiter(other, **fast)
    )
    async with hit, bystander:
        with pytest.raises(RateLimitError):
            await hit.balance()
        sleeps.clear()
        await bystander.balance()
    assert len(sleeps) == 1
    assert 50 - SLACK < sleeps[0] <= 50


async def test_unreachable_redis_fails_the_request_with_a_toplist_error(
    scripted: ScriptedPanel, tmp_path: object
) -> None:
    dead = connect("redis://:s3cret-password@127.0.0.1:1/0")
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, rate_limit=limiter(dead)
    )
    async with client:
        with pytest.raises(RedisUnavailableError) as caught:
            await client.balance()
    await dead.aclose()
    assert isinstance(caught.value, ToplistError)
    assert "s3cret" not in str(caught.value)
    assert scripted.received == []


async def test_a_frozen_redis_fails_within_the_timeout() -> None:
    server = start_or_skip()
    redis = connect(server.url)
    try:
        shared = limiter(redis, timeout=0.3)
        await shared.acquire(Recorder())
        os.kill(server.pid, signal.SIGSTOP)
        async with asyncio.timeout(60):  # a hang fails the test instead of stalling CI
            with pytest.raises(RedisUnavailableError, match=r"within 0\.3 s"):
                await shared.acquire(Recorder())
    finally:
        server.stop()
        await redis.aclose()


async def test_fallback_paces_locally_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = connect("unix:///nonexistent/redis.sock")
    now = [0.0]
    shared = limiter(dead, fallback_per_minute=66, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="toplist_async.redis"):
        waits = [await shared.acquire(Recorder()) for _ in range(8)]
    await dead.aclose()
    # The local bucket of 66 a minute: a burst of 6, then one a second.
    assert waits == [0.0] * 6 + [pytest.approx(1.0), pytest.approx(2.0)]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "pacing this process alone at 66 a minute" in warnings[0]


async def test_the_fallback_hands_back_to_redis_once_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_or_skip()
    redis = connect(server.url)
    now = [0.0]
    try:
        shared = limiter(
            redis, fallback_per_minute=66, timeout=0.3, clock=lambda: now[0]
        )
        os.kill(server.pid, signal.SIGSTOP)
        with caplog.at_level(logging.WARNING, logger="toplist_async.redis"):
            assert await shared.acquire(Recorder()) == 0.0  # the local bucket
            os.kill(server.pid, signal.SIGCONT)
            assert await shared.acquire(Recorder()) == 0.0  # still local: no retry yet
            assert not await redis.exists(shared.key)
            now[0] += 10.0
            await shared.acquire(Recorder())
        assert await redis.exists(shared.key)  # this turn was booked in Redis
        said = [record.getMessage() for record in caplog.records]
        assert len(said) == 2
        assert "back on the fleet's limit" in said[1]
    finally:
        server.stop()
        await redis.aclose()


def test_the_core_never_imports_redis() -> None:
    probe = "import sys, toplist_async; print('redis' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "False"
