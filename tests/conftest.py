"""Shared fixtures: no real retry sleeps, a scriptable panel on 127.0.0.1, a client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from toplist_async import ToplistClient, _retry

pytest_plugins = ("pytester",)  # tests/test_pytest_plugin.py runs pytest itself

API_KEY = "sk-test-0123456789abcdef"

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry policy's waits instead of sleeping them."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(_retry, "sleep", fake_sleep)
    return waited


@dataclass
class ScriptedPanel:
    """A real aiohttp server whose answers a test scripts with `handler`."""

    handler: Handler | None = None
    base_url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def actions(self) -> list[str]:
        return [str(body.get("action")) for body in self.received]


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedPanel]:
    """Start a real HTTP server on 127.0.0.1 that records each body it receives."""
    panel = ScriptedPanel()

    async def endpoint(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if request.content_type == "application/json":
            body = json.loads(raw or b"{}")
        else:
            body = dict(parse_qsl(raw.decode()))
        panel.received.append(body)
        panel.headers.append(dict(request.headers))
        assert panel.handler is not None, "the test set no handler"
        return await panel.handler(request, body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    panel.base_url = f"http://127.0.0.1:{port}/api/v2"
    try:
        yield panel
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(scripted: ScriptedPanel) -> AsyncIterator[ToplistClient]:
    """A client on the `scripted` panel that does not retry."""
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0
    ) as toplist:
        yield toplist


@pytest.fixture
async def gate(scripted: ScriptedPanel) -> AsyncIterator[asyncio.Event]:
    """An event slow or stalled handlers wait on; set before the server shuts down."""
    event = asyncio.Event()
    yield event
    event.set()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL whose port has nothing listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"
