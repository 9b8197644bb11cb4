"""No answer, however odd, makes an `add` place twice or return another's id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests._helpers import LINK, respond
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIError,
    InternalServerError,
    OrderOutcomeUnknown,
    RateLimitError,
    ToplistClient,
)

THROTTLE_WORDS = ["Too many requests", "Rate limit exceeded", "Slow down, please"]


async def _add(client: ToplistClient) -> int:
    return await client.add(service=1, link=LINK, quantity=100)


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("words", THROTTLE_WORDS)
async def test_server_error_with_throttle_words_is_a_server_error(
    scripted: ScriptedPanel, status: int, words: str
) -> None:
    """A 5xx saying "too many requests" is not a throttle: an add is not sent again."""
    scripted.handler = respond(json.dumps({"error": words}).encode(), status=status)
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=3
    ) as client:
        with pytest.raises(OrderOutcomeUnknown) as info:
            await _add(client)
        assert type(info.value.__cause__) is InternalServerError
        assert scripted.actions() == ["add"]
        with pytest.raises(InternalServerError):
            await client.balance()
        assert scripted.actions() == ["add"] + ["balance"] * 4  # reads still retry


@pytest.mark.parametrize("status", [200, 400, 403, 429])
async def test_throttle_words_below_500_are_a_throttle(
    scripted: ScriptedPanel, client: ToplistClient, status: int
) -> None:
    """Only a 429, or a 200/4xx whose message is a throttle, is a RateLimitError."""
    scripted.handler = respond(b'{"error": "Too many requests"}', status=status)
    with pytest.raises(RateLimitError):
        await client.balance()


@pytest.mark.parametrize("status", [429, 400, 500, 503])
async def test_add_answer_carrying_an_order_id_is_never_sent_again(
    scripted: ScriptedPanel, sleeps: list[float], status: int
) -> None:
    """An add answered with an error status but an order id returns that id, once."""
    scripted.handler = respond(
        b'{"order": 123}', status=status, headers={"Retry-After": "1"}
    )
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=3
    ) as client:
        assert await _add(client) == 123
    assert scripted.actions() == ["add"]
    assert sleeps == []


@pytest.mark.parametrize("status", [101, 301, 302, 303, 307, 399, 499, 600, 999])
async def test_add_answered_with_a_status_that_says_nothing_is_outcome_unknown(
    scripted: ScriptedPanel, sleeps: list[float], status: int
) -> None:
    """1xx, 3xx (post/redirect/get after placing) or an unregistered status."""
    scripted.handler = respond(
        b'{"message": "see elsewhere"}',
        status=status,
        headers={"Location": "/orders/5"},
    )
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=3
    ) as client:
        with pytest.raises(OrderOutcomeUnknown) as info:
            await _add(client)
    cause = info.value.__cause__
    assert isinstance(cause, APIError)
    assert cause.status_code == status
    assert scripted.actions() == ["add"]
    assert sleeps == []


@pytest.mark.parametrize(
    "comments",
    [["nice", "two\nlines"], ("a\r\nb",), ["carriage\rreturn"]],
    ids=["lf", "crlf", "cr"],
)
async def test_list_entry_with_a_line_break_is_refused(
    scripted: ScriptedPanel, client: ToplistClient, comments: Any
) -> None:
    """The panel splits a list on line breaks, so an entry holding one is refused."""
    with pytest.raises(ValueError, match="line break"):
        await client.add(service=1, link=LINK, comments=comments)
    assert scripted.received == []


async def test_list_entries_go_one_per_line(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"order": 9}')
    assert await client.add(service=1, link=LINK, comments=["a b", "c"]) == 9
    assert scripted.received[0]["comments"] == "a b\nc"


# --- stray answers on an idle keep-alive connection (raw server) ----------------

Answer = Callable[[dict[str, Any]], bytes]


def _http(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class RawPanel:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 whose bytes a test writes itself."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.base_url = ""

    async def __aenter__(self) -> RawPanel:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/api/v2"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def stray(self, data: bytes) -> None:
        """Write `data` on the latest connection, unasked."""
        writer = self._writers[-1]
        writer.write(data)
        await writer.drain()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                raw = await reader.readexactly(length)
                body = (
                    json.loads(raw)
                    if raw.startswith(b"{")
                    else dict(parse_qsl(raw.decode()))
                )
                self.received.append(body)
                writer.write(self.answer(body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _answer(body: dict[str, Any]) -> bytes:
    if body["action"] == "add":
        return _http(b'{"order": 1}')
    if body["action"] == "cancel":
        return _http(b'[{"order": 5, "cancel": 1}]')
    if body["action"] == "refill":
        return _http(b'[{"order": 5, "refill": 11}]')
    return _http(b'{"balance": "1.00", "currency": "USD"}')


@pytest.fixture
async def raw_panel() -> AsyncIterator[RawPanel]:
    async with RawPanel(_answer) as panel:
        yield panel


# What a buggy proxy sends on a connection nobody asked anything on: it reaches
# the client after the balance answer was read and its connection pooled.
STRAYS = {
    "add": _http(b'{"order": 999}'),
    "cancel": _http(b'[{"order": 5, "cancel": {"error": "a stray refusal"}}]'),
    "refill": _http(b'[{"order": 5, "refill": 999}]'),
}
MUTATIONS: dict[str, Callable[[ToplistClient], Awaitable[object]]] = {
    "add": _add,
    "cancel": lambda c: c.cancel(5),
    "refill": lambda c: c.refill(5),
}
EXPECTED = {"add": 1, "cancel": 5, "refill": 11}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_mutation_never_takes_a_stray_answer_of_an_idle_connection(
    raw_panel: RawPanel, mutation: str
) -> None:
    """A stray answer on a pooled connection is never read as a mutation's answer."""
    async with ToplistClient(API_KEY, base_url=raw_panel.base_url) as client:
        assert (await client.balance()).currency == "USD"
        await raw_panel.stray(STRAYS[mutation])
        result = await MUTATIONS[mutation](client)
    if mutation == "add":
        assert result == EXPECTED["add"]
    elif mutation == "cancel":
        assert getattr(result, "order_id", None) == EXPECTED["cancel"]
    else:
        assert getattr(result, "refill_id", None) == EXPECTED["refill"]
    assert [b["action"] for b in raw_panel.received] == ["balance", mutation]


async def test_reads_keep_their_connection_mutations_open_their_own(
    raw_panel: RawPanel,
) -> None:
    async with ToplistClient(API_KEY, base_url=raw_panel.base_url) as client:
        for _ in range(3):
            await client.balance()
        assert raw_panel.connections == 1
        await _add(client)
        await _add(client)
    assert raw_panel.connections == 3
