"""
Security: redirects to another host, and the size cap against answers without end.

The key's absence from logs, reprs, errors and URLs is checked over the whole
chaos run (tests/chaos/test_chaos.py) and per leak in tests/test_transport.py,
as are same-host redirects, plain-http refusal and a declared oversized body.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIError,
    APITimeoutError,
    OrderError,
    OrderOutcomeUnknown,
    ResponseValidationError,
    ToplistClient,
    ToplistError,
    _caps,
)

CAP = _caps.MAX_RESPONSE_BYTES
# What the kernel's socket buffers and aiohttp's read buffer may hold beyond
# what the client consumed before it stopped reading.
SLACK = 16 * 1024 * 1024


@dataclass
class Listener:
    """A bare TCP listener standing for another host; it records anything at all."""

    url: str = ""
    connections: list[object] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)


@pytest.fixture
async def other_host() -> AsyncIterator[Listener]:
    """Listen on another loopback port and record every connection and byte."""
    listener = Listener()

    async def on_connect(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        listener.connections.append(writer.get_extra_info("peername"))
        try:
            listener.received += await asyncio.wait_for(reader.read(1 << 16), 1)
        except TimeoutError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    listener.url = f"http://127.0.0.1:{port}/api/v2"
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()


Call = Callable[[ToplistClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "balance": lambda c: c.balance(),
    "add": lambda c: c.add(service=1, link="https://example.com/r", quantity=100),
    "status": lambda c: c.status(7),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_to_another_host_receives_nothing(
    scripted: ScriptedPanel, other_host: Listener, code: int, call: Call
) -> None:
    """A redirect elsewhere raises APIError (an add: OrderOutcomeUnknown from it,
    the panel may have placed it before redirecting); the other host sees nothing."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(status=code, headers={"Location": other_host.url})

    scripted.handler = handler
    # The key in the body and in a header: the most a followed redirect could carry.
    client = ToplistClient(API_KEY, base_url=scripted.base_url, auth="both")
    async with client:
        with pytest.raises(ToplistError) as info:
            await call(client)
    error: BaseException | None = info.value
    if call is CALLS["add"]:
        assert type(error) is OrderOutcomeUnknown
        error = error.__cause__
    assert isinstance(error, APIError)
    assert type(error) is APIError
    assert error.status_code == code
    assert other_host.url in error.message
    assert len(scripted.received) == 1  # a redirect is an answer, not retried
    assert other_host.connections == []
    assert other_host.received == b""


def _plain(budget: int) -> Iterator[tuple[bytes, int]]:
    """JSON that never ends: `[` then spaces, as (wire bytes, body bytes)."""
    yield b"[", 1
    chunk = b" " * (1 << 16)
    while budget > 0:
        budget -= len(chunk)
        yield chunk, len(chunk)


def _gzip(budget: int) -> Iterator[tuple[bytes, int]]:
    """A gzip stream that never ends and inflates about a thousandfold."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = b"[" + b" " * ((1 << 20) - 1)
    while budget > 0:
        budget -= len(block)
        yield packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH), len(block)


@dataclass(frozen=True)
class Flood:
    """
    A server that answers without end, and how much of it it may get to send.

    None where the wire bytes say nothing: a gzip bomb fits in socket buffers,
    so only the memory the client spent shows whether it inflated it all.
    """

    id: str
    body: Callable[[int], Iterator[tuple[bytes, int]]]
    headers: dict[str, str]
    sent_at_most: int | None


FLOODS = [
    Flood("chunked", _plain, {}, CAP + SLACK),
    Flood("gzip-bomb", _gzip, {"Content-Encoding": "gzip"}, None),
    # Refused on its header: what the kernel buffers before the close is all.
    Flood("declares-10-GiB", _plain, {"Content-Length": str(10 << 30)}, SLACK),
]


@pytest.mark.parametrize("flood", FLOODS, ids=[f.id for f in FLOODS])
async def test_size_cap_holds_against_an_endless_answer(
    scripted: ScriptedPanel, flood: Flood
) -> None:
    """At the default cap an endless body is cut off: bounded time, reads and memory."""
    give_up = 4 * CAP  # a client that never stops would fail here, not hang
    sent: list[int] = []
    stopped = asyncio.Event()

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", **flood.headers}
        )
        await response.prepare(request)
        total = 0
        try:
            for wire, body in flood.body(give_up):
                await response.write(wire)
                total += body
        except ConnectionError:
            pass  # the client hung up: the point of the test
        finally:
            sent.append(total)
            stopped.set()
        return response

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        async with client:
            with pytest.raises(ResponseValidationError) as info:
                await client.services()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    await asyncio.wait_for(stopped.wait(), 5)  # the server saw the client hang up
    assert str(CAP) in info.value.message
    assert info.value.not_json
    assert elapsed < 10
    if flood.sent_at_most is not None:
        assert sent[0] <= flood.sent_at_most
    # The answer read so far is held once, plus aiohttp's read buffer.
    assert peak < CAP + SLACK


async def test_an_answer_trickling_forever_is_cut_by_the_timeout(
    scripted: ScriptedPanel,
) -> None:
    """A body dripping a byte at a time, forever, ends at `timeout`, not never."""
    drips = 0
    stopped = asyncio.Event()

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        nonlocal drips
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b"[")
            while drips < 500:  # 10 s if the client never gave up
                await response.write(b" ")
                drips += 1
                await asyncio.sleep(0.02)
        except ConnectionError:
            pass
        finally:
            stopped.set()
        return response

    scripted.handler = handler
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, timeout=0.3, max_retries=0
    )
    started = time.perf_counter()
    async with client:
        with pytest.raises(APITimeoutError):
            await client.balance()
    assert 0.25 < time.perf_counter() - started < 2
    await asyncio.wait_for(stopped.wait(), 5)  # the server saw the client hang up
    assert 0 < drips < 100


# --- a cap per action ---------------------------------------------------------------

PADDED: dict[str, tuple[bytes, Call]] = {
    "status": (b'{"7": {"status": "Completed", "remains": 0}}', CALLS["status"]),
    "cancel": (b'[{"order": 7, "cancel": 1}]', lambda c: c.cancel(7)),
    "balance": (b'{"balance": "1.00", "currency": "USD"}', CALLS["balance"]),
    "add": (b'{"order": 9}', CALLS["add"]),
}


@pytest.mark.parametrize("action", PADDED)
async def test_an_answer_far_larger_than_its_action_needs_is_refused(
    scripted: ScriptedPanel, action: str
) -> None:
    """A valid answer padded to 1 MiB is refused: only the catalogue may be that big."""
    answer, call = PADDED[action]

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(body=answer + b" " * (1 << 20))

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises((ResponseValidationError, OrderOutcomeUnknown)) as info:
            await call(client)
    refused = info.value.__cause__ or info.value
    assert isinstance(refused, ResponseValidationError)
    assert "was not read" in refused.message


async def test_a_status_answer_for_a_full_batch_fits_its_cap(
    scripted: ScriptedPanel,
) -> None:
    """100 ids, each refused with a 1 KiB message: far more than panels write."""
    ids = list(range(1, 101))

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.json_response({str(i): {"error": "x" * 1024} for i in ids})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        outcomes = await client.status_many(ids)
    assert [type(outcome) for outcome in outcomes.values()] == [OrderError] * 100


async def test_a_small_gzip_body_is_refused_without_inflating_it(
    scripted: ScriptedPanel,
) -> None:
    """256 KiB of gzip that inflate to 256 MiB: stopped at the cap, not in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(256)) + packer.flush()

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    scripted.handler = handler
    tracemalloc.start()
    try:
        async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
            with pytest.raises(ResponseValidationError, match="was not read"):
                await client.balance()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # aiohttp before 3.14 inflated each read in full: 32 MiB and more.
    assert peak < 8 << 20
