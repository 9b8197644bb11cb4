"""Fixtures that start fake panels and talk to them with a raw aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, NamedTuple

import aiohttp
import msgspec
import pytest

from toplist_async.testing import FakePanel

KEY = "sk-test-7f3a9c"
_decode = msgspec.json.Decoder(float_hook=Decimal).decode


class Answer(NamedTuple):
    status: int
    body: Any
    raw: bytes
    headers: Any


class Api:
    """Posts API requests to one panel the way a client would."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(
        self,
        action: str | None = None,
        *,
        key: str | None = KEY,
        form: bool = False,
        bearer: bool = False,
        timeout: float = 5.0,
        **fields: Any,
    ) -> Answer:
        """POST the fields (JSON unless `form`), the key in the body or a header."""
        body: dict[str, Any] = dict(fields)
        if action is not None:
            body["action"] = action
        headers = {"Accept": "application/json"}
        if key is not None and bearer:
            headers["Authorization"] = f"Bearer {key}"
        elif key is not None:
            body["key"] = key
        sent: dict[str, Any] = (
            {"data": {k: str(v) for k, v in body.items()}} if form else {"json": body}
        )
        async with self.session.post(
            self.url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            **sent,
        ) as response:
            raw = await response.read()
            try:
                decoded = _decode(raw)
            except msgspec.DecodeError:
                decoded = None
            return Answer(response.status, decoded, raw, response.headers)

    async def add(self, service: int = 1, quantity: int = 100, **fields: Any) -> int:
        """Place an order and return its id."""
        answer = await self.call(
            "add",
            service=service,
            link="https://example.com/p",
            quantity=quantity,
            **fields,
        )
        assert answer.status == 200, answer
        return int(answer.body["order_id"])


Serve = Callable[..., Awaitable[tuple[FakePanel, Api]]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def serve(session: aiohttp.ClientSession) -> AsyncIterator[Serve]:
    """Start a panel (frozen clock unless `speed` is given) and an `Api` on it."""
    panels: list[FakePanel] = []

    async def start(**options: Any) -> tuple[FakePanel, Api]:
        panel = FakePanel(**{"speed": 0.0, **options})
        panels.append(panel)
        return panel, Api(session, await panel.start())

    yield start
    for panel in panels:
        await panel.stop()
