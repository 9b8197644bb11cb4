"""`RedisTracker`: orders in a real Redis, polled by workers, read by consumers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from tests.conftest import API_KEY, ScriptedPanel
from tests.fleet.conftest import start_or_skip
from toplist_async import OrderError, OrderStatus, ToplistClient
from toplist_async.redis import RedisTracker, connect
from toplist_async.redis._store import Completion, Store
from toplist_async.testing import FakePanel
from toplist_async.testing._redis_server import RedisServer

STATE = "0|0|5.0|0.0|0|0|||"  # a stored order's state, as the claim script reads it


def fast(redis: Redis, client: ToplistClient) -> RedisTracker:
    """A tracker polling every 50 to 200 ms."""
    return RedisTracker(redis, client, name="t", interval=0.05, max_interval=0.2)


async def until(condition: Any) -> None:
    """Wait (a minute at most) until `await condition()` is true."""
    async with asyncio.timeout(60):
        while not await condition():  # noqa: ASYNC110 (the state is in Redis)
            await asyncio.sleep(0.02)


STUCK_KEY = "sk-stuck-worker-0000"


async def updates_until(
    tracker: RedisTracker, done: Any, *, group: str = "g", consumer: str = "c"
) -> list[OrderStatus | OrderError]:
    """Read the group's updates until `done(updates)` holds (a minute at most)."""
    seen: list[OrderStatus | OrderError] = []
    async with asyncio.timeout(60):
        stream = tracker.events(group=group, consumer=consumer, block=0.05)
        async for update in stream:
            seen.append(update)
            if done(seen):
                break
    return seen


def finals(updates: list[OrderStatus | OrderError]) -> set[int]:
    return {u.order_id for u in updates if isinstance(u, OrderError) or u.is_final}


@pytest.fixture
async def panel() -> AsyncIterator[FakePanel]:
    """A panel with 200 orders of API_KEY, frozen until the test moves its clock."""
    fake = FakePanel(seed_orders=200, seed_orders_key=API_KEY, speed=0)
    async with fake:
        yield fake


@pytest.fixture
async def client(panel: FakePanel) -> AsyncIterator[ToplistClient]:
    async with ToplistClient(API_KEY, base_url=panel.base_url) as toplist:
        yield toplist


async def test_workers_follow_every_order_to_its_final_update(
    redis: Redis, panel: FakePanel, client: ToplistClient
) -> None:
    ids = list(range(1, 201))
    tracker = fast(redis, client)
    assert await tracker.track(ids) == 200
    assert await tracker.track(ids[:10]) == 0  # already followed
    workers = [asyncio.create_task(fast(redis, client).run()) for _ in range(2)]
    try:
        first = await updates_until(tracker, lambda seen: len(seen) >= 200)
        panel.advance(10**6)  # every order ends
        rest = await updates_until(
            tracker, lambda seen: finals(first + seen) >= set(ids)
        )
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    assert sorted(u.order_id for u in first) == ids  # each order's first status once
    last = {u.order_id: u for u in first + rest}
    assert all(isinstance(u, OrderStatus) and u.is_final for u in last.values())
    assert await tracker.tracked() == 0


async def test_a_completion_after_its_lease_is_refused_and_changes_nothing(
    redis: Redis,
) -> None:
    store = Store(redis, "t", timeout=2.0)
    now = await store.now()
    await store.track([(order, STATE, int(now * 1000)) for order in (1, 2)])
    late = await store.claim(100, 50, 4)

    async def expired() -> bool:
        return await store.now() * 1000 > late.token + 50

    await until(expired)
    current = await store.claim(100, 60_000, 4)
    assert set(current.states) == set(late.states) == {1, 2}
    change = [Completion(1, "1|1|5.0|0.0|0|0|||", 1, b"{}")]
    assert await store.complete(late.token + 50, change, 0) == [1]
    assert await redis.xlen(store.events) == 0
    assert await redis.zscore(store.due, 1) == current.token + 60_000
    assert await store.complete(current.token + 60_000, change, 0) == []
    assert await redis.xlen(store.events) == 1
    assert await redis.hget(store.state, "1") == b"1|1|5.0|0.0|0|0|||"


async def test_untrack_during_a_poll_refuses_its_answer(redis: Redis) -> None:
    store = Store(redis, "t", timeout=2.0)
    now = await store.now()
    await store.track([(7, STATE, int(now * 1000))])
    claim = await store.claim(100, 60_000, 4)
    assert await store.untrack([7]) == 1
    change = [Completion(7, "1|1|5.0|0.0|0|0|||", 1, b"{}")]
    assert await store.complete(claim.token + 60_000, change, 0) == [7]
    assert await redis.exists(store.due, store.state, store.events) == 0


async def test_concurrent_claims_never_hand_out_an_order_twice(redis: Redis) -> None:
    store = Store(redis, "t", timeout=2.0)
    now = await store.now()
    state = STATE
    await store.track([(order, state, int(now * 1000)) for order in range(1, 1001)])
    claims = await asyncio.gather(*(store.claim(100, 60_000, 4) for _ in range(30)))
    handed = [order for claim in claims for order in claim.states]
    assert sorted(handed) == list(range(1, 1001))


async def test_an_update_not_acknowledged_comes_again(
    redis: Redis, panel: FakePanel, client: ToplistClient
) -> None:
    tracker = fast(redis, client)
    await tracker.track([1, 2, 3])
    worker = asyncio.create_task(tracker.run())
    try:
        (first,) = await updates_until(tracker, lambda seen: True)
        again = await updates_until(tracker, lambda seen: len(seen) == 3)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert again[0] == first  # handed out, never acknowledged: delivered again
    assert sorted(u.order_id for u in again) == [1, 2, 3]


async def test_tracked_orders_and_updates_survive_a_restart_with_appendonly(
    panel: FakePanel, client: ToplistClient
) -> None:
    server = start_or_skip("--appendonly", "yes")
    redis = connect(server.url)
    try:
        tracker = RedisTracker(redis, client, name="kept")
        await tracker.track(range(1, 11))
        store = Store(redis, "kept", timeout=2.0)
        claim = await store.claim(3, 60_000, 4)
        done = [Completion(order, STATE, 0, b"{}") for order in claim.states]
        assert await store.complete(claim.token + 60_000, done, 0) == []
        server.restart()
        assert await tracker.tracked() == 10
        assert await redis.xlen(store.events) == 3
    finally:
        server.stop()
        await redis.aclose()


# --- kill -9 of a worker or a consumer ------------------------------------------

CHILD = """
import asyncio, sys
from toplist_async import ToplistClient
from toplist_async.redis import RedisTracker, connect

async def main(url, base_url, key, role):
    redis = connect(url)
    async with ToplistClient(key, base_url=base_url, max_retries=0) as client:
        tracker = RedisTracker(redis, client, name="t", lease=3.0, interval=0.05)
        if role == "worker":
            await tracker.run()
        async for update in tracker.events(group="bot", consumer="doomed"):
            print(update.order_id, flush=True)
            await asyncio.sleep(3600)  # handling hangs: nothing is acknowledged

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
def child(redis_server: RedisServer) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(base_url: str, key: str, role: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-c", CHILD, redis_server.url, base_url, key, role]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def completed(body: dict[str, Any]) -> web.Response:
    ids = str(body.get("orders") or body.get("order")).split(",")
    answer = {"charge": "1", "start_count": 0, "status": "Completed", "remains": 0}
    if len(ids) == 1:
        return web.json_response(answer)
    return web.json_response(dict.fromkeys(ids, answer))


async def test_a_killed_workers_orders_are_polled_once_its_lease_ends(
    redis: Redis, scripted: ScriptedPanel, child: Any
) -> None:
    never = asyncio.Event()

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        if body.get("key") == STUCK_KEY:
            await never.wait()  # the doomed worker's request never comes back
        return completed(body)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        tracker = RedisTracker(redis, client, name="t", lease=3.0)
        store = Store(redis, "t", timeout=2.0)
        await tracker.track(range(1, 51))
        doomed = child(scripted.base_url, STUCK_KEY, "worker")

        async def sent() -> bool:  # its claim went out as a request
            return bool(scripted.received)

        await until(sent)
        os.kill(doomed.pid, signal.SIGKILL)
        assert (await store.claim(100, 3000, 4)).states == {}  # still leased
        worker = asyncio.create_task(tracker.run())
        try:
            updates = await updates_until(tracker, lambda seen: len(seen) == 50)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        never.set()
    assert sorted(u.order_id for u in updates) == list(range(1, 51))
    assert all(isinstance(u, OrderStatus) and u.is_final for u in updates)


async def test_a_killed_consumers_updates_go_to_another(
    redis: Redis, scripted: ScriptedPanel, child: Any
) -> None:
    scripted.handler = lambda request, body: asyncio.sleep(0, completed(body))
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        tracker = RedisTracker(redis, client, name="t")
        await tracker.track(range(1, 21))
        worker = asyncio.create_task(tracker.run())
        try:

            async def finished() -> bool:
                return await tracker.tracked() == 0

            await until(finished)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        doomed = child(scripted.base_url, API_KEY, "consumer")
        assert doomed.stdout is not None
        handling = await asyncio.to_thread(doomed.stdout.readline)
        assert handling.strip()  # it holds every update, acknowledging none
        os.kill(doomed.pid, signal.SIGKILL)
        heir: list[OrderStatus | OrderError] = []
        async with asyncio.timeout(60):
            stream = tracker.events(
                group="bot", consumer="heir", block=0.05, claim_idle=0.2
            )
            async for update in stream:
                heir.append(update)
                if len(heir) == 20:
                    break
    assert sorted(u.order_id for u in heir) == list(range(1, 21))
