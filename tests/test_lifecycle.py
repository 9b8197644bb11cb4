"""A client's life: a closing that survives cancellation; one event loop a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    ClientClosedError,
    ToplistClient,
    WrongEventLoopError,
)


def _sessions(client: ToplistClient) -> list[aiohttp.ClientSession]:
    """The sessions the client made (white box: what must end up closed)."""
    connections = client._transport._connections
    return [s for s in (connections._reads, connections._mutations) if s is not None]


async def _settle() -> None:
    """Let every task that can run, run (no timer is involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def slow_add(
    scripted: ScriptedPanel,
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Event]]:
    """An `add` the panel holds until `release` is set; `arrived` says it came."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        arrived.set()
        await release.wait()
        return web.json_response({"order_id": 77})

    scripted.handler = handler
    yield arrived, release
    release.set()


async def test_a_cancelled_aclose_finishes_on_the_next_call(
    scripted: ScriptedPanel, slow_add: tuple[asyncio.Event, asyncio.Event]
) -> None:
    """`aclose()` cancelled while an add is under way: the next call closes all."""
    arrived, release = slow_add
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    placing = asyncio.create_task(
        client.add(service=1, link="https://x.test/p", quantity=10)
    )
    await arrived.wait()
    sessions = _sessions(client)
    closing = asyncio.create_task(client.aclose())
    await _settle()
    closing.cancel()  # as asyncio.timeout() around it would
    with pytest.raises(asyncio.CancelledError):
        await closing
    with pytest.raises(ClientClosedError):
        await client.balance()
    release.set()
    await client.aclose()
    assert await placing == 77  # the add's id is not lost to the closing
    assert sessions
    assert all(session.closed for session in sessions)
    await client.aclose()  # and then it does nothing


async def test_a_cancelled_aclose_goes_on_without_its_caller(
    scripted: ScriptedPanel, slow_add: tuple[asyncio.Event, asyncio.Event]
) -> None:
    """Nobody calls `aclose()` again: the session is closed all the same."""
    arrived, release = slow_add
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    placing = asyncio.create_task(
        client.add(service=1, link="https://x.test/p", quantity=10)
    )
    await arrived.wait()
    sessions = _sessions(client)
    closing = asyncio.create_task(client.aclose())
    await _settle()
    closing.cancel()
    release.set()
    assert await placing == 77
    for _ in range(100):
        if all(session.closed for session in sessions):
            break
        await asyncio.sleep(0)
    assert sessions
    assert all(session.closed for session in sessions)


# --- one event loop -----------------------------------------------------------------


Call = Callable[[ToplistClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "balance": lambda c: c.balance(),
    "add": lambda c: c.add(service=1, link="https://x.test/p", quantity=10),
    "status": lambda c: c.status(7),
    "status_many": lambda c: c.status_many([7, 8]),
    "cancel": lambda c: c.cancel(7),
}


@pytest.fixture
def two_loops() -> Iterator[
    tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]
]:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    yield first, second
    second.close()
    first.close()


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_client_used_from_a_second_loop_says_it_belongs_to_one(
    two_loops: tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop],
    dead_url: str,
    call: Call,
) -> None:
    """As with `asyncio.run()` twice: a clear error, not "Event loop is closed"."""
    first, second = two_loops
    client = ToplistClient(API_KEY, base_url=dead_url, max_retries=0)
    with pytest.raises(APIConnectionError):
        first.run_until_complete(client.balance())  # its sessions are the first's
    sessions = _sessions(client)
    with pytest.raises(WrongEventLoopError, match="one"):
        second.run_until_complete(call(client))
    with pytest.raises(WrongEventLoopError):
        second.run_until_complete(client.aclose())
    first.run_until_complete(client.aclose())  # closing in its own loop works
    assert sessions
    assert all(session.closed for session in sessions)
