"""A burst of calls waits for free request slots; the wait is not part of `timeout`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests._helpers import LINK
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import ClientClosedError, ToplistClient


class Crowd:
    """Counts the requests a handler holds at once until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.now = 0
        self.most = 0
        self.served = 0
        self.arrived = asyncio.Condition()

    async def handler(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        async with self.arrived:
            self.arrived.notify_all()
        try:
            await self.gate.wait()
        finally:
            self.now -= 1
        self.served += 1
        return web.json_response({"order": self.served})

    async def wait_for(self, holding: int) -> None:
        async with self.arrived:
            await self.arrived.wait_for(lambda: self.now >= holding)


@pytest.fixture
def crowd(scripted: ScriptedPanel) -> Iterator[Crowd]:
    crowd = Crowd()
    scripted.handler = crowd.handler
    yield crowd
    crowd.gate.set()


async def _add(client: ToplistClient) -> int:
    return await client.add(service=1, link=LINK, quantity=100)


@pytest.fixture
async def loop_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The running loop's clock, frozen; add to its one value to move it on."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    return now


async def _settle() -> None:
    """Let every callback the loop has due run, and what those schedule."""
    for _ in range(50):
        await asyncio.sleep(0)


@pytest.mark.parametrize("limit", [1, 3])
async def test_requests_under_way_are_bounded_by_max_connections(
    scripted: ScriptedPanel, crowd: Crowd, limit: int
) -> None:
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_connections=limit
    ) as client:
        calls = [asyncio.create_task(_add(client)) for _ in range(limit + 5)]
        await crowd.wait_for(limit)
        await _settle()
        assert crowd.now == limit
        crowd.gate.set()
        placed = await asyncio.gather(*calls)
    assert crowd.most == limit
    assert len(placed) == limit + 5
    assert scripted.actions() == ["add"] * (limit + 5)


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_max_connections_must_be_a_positive_int(size: Any) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        ToplistClient(API_KEY, max_connections=size)


async def test_waiting_for_a_slot_is_not_part_of_the_timeout(
    scripted: ScriptedPanel, crowd: Crowd, loop_clock: list[float]
) -> None:
    """An add queued far longer than `timeout` behind a full pool is sent once."""
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, timeout=10.0, max_retries=0
    ) as client:
        holders = [asyncio.create_task(_add(client)) for _ in range(100)]
        await crowd.wait_for(100)
        queued = [asyncio.create_task(_add(client)) for _ in range(20)]
        try:
            for _ in range(9):  # 9 s: the holders' own timeout of 10 s holds
                loop_clock[0] += 1.0
                await _settle()
            assert not any(task.done() for task in queued)
        finally:
            crowd.gate.set()  # a frozen clock times nothing out: close cannot hang
        placed = await asyncio.gather(*holders, *queued)
    assert len(placed) == 120
    assert scripted.actions() == ["add"] * 120


async def test_a_caller_session_s_smaller_pool_bounds_the_slots(
    scripted: ScriptedPanel, crowd: Crowd, loop_clock: list[float]
) -> None:
    """Requests wait for a slot of the client, not inside the caller's pool."""
    connector = aiohttp.TCPConnector(limit=2)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        ToplistClient(
            API_KEY,
            base_url=scripted.base_url,
            session=session,
            timeout=10.0,
            max_retries=0,
        ) as client,
    ):
        calls = [asyncio.create_task(_add(client)) for _ in range(6)]
        await crowd.wait_for(2)
        try:
            for _ in range(9):
                loop_clock[0] += 1.0
                await _settle()
            assert not any(task.done() for task in calls)
        finally:
            crowd.gate.set()
        placed = await asyncio.gather(*calls)
    assert len(placed) == 6
    assert crowd.most == 2


async def test_calls_waiting_for_a_slot_when_closed_are_never_sent(
    scripted: ScriptedPanel, crowd: Crowd
) -> None:
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_connections=1)
    sent = asyncio.create_task(_add(client))
    await crowd.wait_for(1)
    waiting = [asyncio.create_task(_add(client)) for _ in range(3)]
    await _settle()
    closing = asyncio.create_task(client.aclose())
    await _settle()
    crowd.gate.set()
    await closing
    assert await sent == 1  # the holder's answer is kept: it was placed
    for task in waiting:
        with pytest.raises(ClientClosedError):
            await task
    assert scripted.actions() == ["add"]
    assert client.stats.requests == {"add": 1}  # requests sent, not calls made
