"""The client's surface: one call per action, typed answers, key lookup, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

from tests._helpers import SPEC_123, SPEC_SERVICE
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    Balance,
    CancelResult,
    ClientClosedError,
    ClientStats,
    OrderError,
    OrderState,
    OrderStatus,
    ResponseValidationError,
    Service,
    ToplistClient,
    ToplistError,
)


def _status(order_id: int, start_count: int, raw: str, remains: int) -> OrderStatus:
    return OrderStatus(
        order_id=order_id,
        charge=Decimal(0),
        start_count=start_count,
        status=OrderState.parse(raw),
        raw_status=raw,
        remains=remains,
        currency="USD",
    )


@dataclass(frozen=True)
class HappyPath:
    """One call, the exact body it must send, the panel's answer and the result."""

    id: str
    call: Callable[[ToplistClient], Awaitable[object]]
    sent: dict[str, object]
    answer: object
    result: object


# Answers are the examples of the API documentation.
HAPPY_PATHS = [
    HappyPath(
        "services",
        lambda c: c.services(),
        {"action": "services", "key": API_KEY},
        [
            {
                "service": 1,
                "name": "Example Service 1000 votes",
                "type": "Default",
                "category": "Votes",
                "rate": 10.0,
                "min": 1,
                "max": 50000,
                "refill": False,
                "cancel": True,
            }
        ],
        [SPEC_SERVICE],
    ),
    HappyPath(
        "add",
        lambda c: c.add(
            service=1, link="http://example.com", quantity=100, interval=60
        ),
        {
            "action": "add",
            "key": API_KEY,
            "service": "1",
            "link": "http://example.com",
            "quantity": "100",
            "interval": "60",
        },
        {"order_id": 123},
        123,
    ),
    HappyPath(
        "status",
        lambda c: c.status(123),
        {"action": "status", "key": API_KEY, "orders": "123"},
        {
            "123": {
                "charge": 0,
                "start_count": 50,
                "status": "in progress",
                "remains": 50,
                "currency": "USD",
            }
        },
        SPEC_123,
    ),
    HappyPath(
        "status_many",
        lambda c: c.status_many([123, 124, 125]),
        {"action": "status", "key": API_KEY, "orders": "123,124,125"},
        {
            "123": {
                "charge": 0,
                "start_count": 50,
                "status": "in progress",
                "remains": 50,
                "currency": "USD",
            },
            "124": {
                "charge": 0,
                "start_count": 100,
                "status": "completed",
                "remains": 0,
                "currency": "USD",
            },
        },
        {
            123: _status(123, 50, "in progress", 50),
            124: _status(124, 100, "completed", 0),
            125: OrderError(125, "the panel's answer left this order out"),
        },
    ),
    HappyPath(
        "balance",
        lambda c: c.balance(),
        {"action": "balance", "key": API_KEY},
        {"balance": 100.0, "currency": "USD"},
        Balance(balance=Decimal("100.0"), currency="USD"),
    ),
    HappyPath(
        "cancel",
        lambda c: c.cancel(123),
        {"action": "cancel", "key": API_KEY, "orders": "123"},
        [{"order": "123", "cancel": 1, "refund": 10.0}],
        CancelResult(order_id=123, refund=Decimal("10.0")),
    ),
    HappyPath(
        "cancel_many",
        lambda c: c.cancel_many([123, 124]),
        {"action": "cancel", "key": API_KEY, "orders": "123,124"},
        [
            {"order": "123", "cancel": 1, "refund": 10.0},
            {
                "order": "124",
                "cancel": {"error": "Order already completed and cannot be canceled"},
            },
        ],
        {
            123: CancelResult(order_id=123, refund=Decimal("10.0")),
            124: OrderError(124, "Order already completed and cannot be canceled"),
        },
    ),
]


def _comparable(value: object) -> object:
    """OrderError compares by identity; compare its type, id and message instead."""
    if isinstance(value, OrderError):
        return ("OrderError", value.order_id, value.message)
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("case", HAPPY_PATHS, ids=[c.id for c in HAPPY_PATHS])
async def test_happy_path_per_action(scripted: ScriptedPanel, case: HappyPath) -> None:
    """Each action sends exactly its documented body and returns typed models."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response(case.answer)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        result = await case.call(client)
    assert scripted.received == [case.sent]
    assert type(result) is type(case.result)
    assert _comparable(result) == _comparable(case.result)
    if isinstance(result, list):
        assert all(type(item) is Service for item in result)
    if isinstance(result, dict):
        assert list(result) == list(case.result)  # type: ignore[call-overload]


async def test_status_raises_order_error(scripted: ScriptedPanel) -> None:
    """`status(id)` raises OrderError carrying the panel's refusal of its id."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"7": {"error": "Incorrect order ID"}})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(OrderError, match="Incorrect order ID") as info:
            await client.status(7)
    assert info.value.order_id == 7
    assert not info.value.missing
    assert scripted.received == [{"action": "status", "key": API_KEY, "orders": "7"}]


async def test_status_of_an_id_left_out_is_a_missing_order_error(
    scripted: ScriptedPanel,
) -> None:
    """An id the answer leaves out (others answered) is an OrderError marked missing."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"8": {"status": "Completed", "remains": 0}})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        outcomes = await client.status_many([7, 8])
    assert isinstance(outcomes[7], OrderError)
    assert outcomes[7].missing
    assert "left this order out" in outcomes[7].message
    assert isinstance(outcomes[8], OrderStatus)


@pytest.mark.parametrize(
    "answer",
    [{"8": {"status": "Completed", "remains": 0}}, {}, {"message": "Server is busy"}],
    ids=["other-id-only", "empty-answer", "message-only"],
)
async def test_status_answer_without_any_asked_id_is_no_answer(
    scripted: ScriptedPanel, answer: object
) -> None:
    """An answer holding none of the asked ids fails the call, not every order."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response(answer)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(ResponseValidationError, match="none of the asked"):
            await client.status(7)


async def test_cancel_raises_order_error_when_refused(scripted: ScriptedPanel) -> None:
    """`cancel(id)` raises OrderError carrying the panel's refusal."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        refusal = {"error": "Order already completed and cannot be canceled"}
        return web.json_response([{"order": "9", "cancel": refusal}])

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(OrderError, match="already completed") as info:
            await client.cancel(9)
    assert info.value.order_id == 9


# --- the key --------------------------------------------------------------------


async def test_api_key_defaults_to_environment(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without api_key the client sends `$TOPLIST_API_KEY`."""
    monkeypatch.setenv("TOPLIST_API_KEY", "env-key-42")

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "1", "currency": "EUR"})

    scripted.handler = handler
    async with ToplistClient(base_url=scripted.base_url) as client:
        await client.balance()
    assert scripted.received == [{"action": "balance", "key": "env-key-42"}]


async def test_explicit_api_key_wins_over_environment(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An api_key argument is used even when `$TOPLIST_API_KEY` is set."""
    monkeypatch.setenv("TOPLIST_API_KEY", "env-key-42")

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "1", "currency": "EUR"})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await client.balance()
    assert scripted.received[0]["key"] == API_KEY


@pytest.mark.parametrize(
    ("env", "api_key"),
    [(None, None), ("", None), (None, ""), ("", "")],
    ids=["no-env-no-arg", "empty-env", "empty-arg", "both-empty"],
)
def test_no_key_at_all_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: str | None, api_key: str | None
) -> None:
    """With no key (or an empty one) the client refuses to be built."""
    if env is None:
        monkeypatch.delenv("TOPLIST_API_KEY", raising=False)
    else:
        monkeypatch.setenv("TOPLIST_API_KEY", env)
    with pytest.raises(ValueError, match="API key"):
        ToplistClient(api_key)


# --- lifecycle ------------------------------------------------------------------


async def test_aclose_is_idempotent(scripted: ScriptedPanel) -> None:
    """Closing twice is harmless, before or after any request."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "1", "currency": "USD"})

    scripted.handler = handler
    used = ToplistClient(API_KEY, base_url=scripted.base_url)
    await used.balance()
    await used.aclose()
    await used.aclose()
    unused = ToplistClient(API_KEY, base_url=scripted.base_url)
    await unused.aclose()
    await unused.aclose()
    assert "closed" in repr(used)


CALLS_AFTER_CLOSE: list[tuple[str, Callable[[ToplistClient], Awaitable[object]]]] = [
    ("services", lambda c: c.services()),
    ("balance", lambda c: c.balance()),
    ("add", lambda c: c.add(service=1, link="https://example.com", quantity=10)),
    ("status", lambda c: c.status(1)),
    ("status_many", lambda c: c.status_many([1, 2])),
    ("cancel", lambda c: c.cancel(1)),
    ("cancel_many", lambda c: c.cancel_many([1, 2])),
]


@pytest.mark.parametrize(
    "call", [c for _, c in CALLS_AFTER_CLOSE], ids=[n for n, _ in CALLS_AFTER_CLOSE]
)
@pytest.mark.parametrize("used_before", [False, True], ids=["fresh", "used"])
async def test_call_after_close_raises_client_closed(
    scripted: ScriptedPanel,
    call: Callable[[ToplistClient], Awaitable[object]],
    used_before: bool,
) -> None:
    """Every call on a closed client raises ClientClosedError and sends nothing."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "1", "currency": "USD"})

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    if used_before:
        await client.balance()
    await client.aclose()
    sent_before = len(scripted.received)
    with pytest.raises(ClientClosedError) as info:
        await call(client)
    assert isinstance(info.value, ToplistError)
    assert len(scripted.received) == sent_before


async def test_closed_client_cannot_be_reentered() -> None:
    """`async with` on a closed client raises ClientClosedError."""
    client = ToplistClient(API_KEY)
    async with client:
        pass
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    other = ToplistClient(API_KEY)
    await other.aclose()
    with pytest.raises(ClientClosedError):
        await other.__aenter__()


async def test_async_with_returns_the_client_and_closes_it(
    scripted: ScriptedPanel,
) -> None:
    """`async with` yields a working client and closes it on exit, even on error."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "3.25", "currency": "USD"})

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    async with client as entered:
        assert entered is client
        assert (await entered.balance()).balance == Decimal("3.25")
    with pytest.raises(ClientClosedError):
        await client.balance()

    failing = ToplistClient(API_KEY, base_url=scripted.base_url)
    with pytest.raises(KeyError):
        async with failing:
            raise KeyError("boom")
    with pytest.raises(ClientClosedError):
        await failing.balance()


def test_repr_shows_base_url_not_key() -> None:
    """repr(client) names the base_url and settings but never the key."""
    url = "https://panel.example/api/v2"
    text = repr(ToplistClient(API_KEY, base_url=url, auth="both"))
    assert url in text
    assert API_KEY not in text
    assert API_KEY[-8:] not in text


async def test_stats_is_a_frozen_snapshot(scripted: ScriptedPanel) -> None:
    """`client.stats` is an immutable copy: later calls leave it unchanged."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": "1", "currency": "USD"})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        before = client.stats
        await client.balance()
        after_one = client.stats
        await client.balance()
        after_two = client.stats
        # Mutating a snapshot's dict does not reach the live counters.
        after_two.requests["balance"] = 99
        again = client.stats
    assert isinstance(before, ClientStats)
    assert before.requests == {}
    assert after_one.requests == {"balance": 1}
    assert again.requests == {"balance": 2}
    assert before is not after_one
    with pytest.raises(AttributeError):
        before.retries = 5  # type: ignore[misc]
    assert msgspec.structs.asdict(after_one)["requests"] == {"balance": 1}


async def test_closing_finishes_an_add_under_way(scripted: ScriptedPanel) -> None:
    """`aclose()` lets an `add` already sent finish: its id is not lost."""
    arrived = asyncio.Event()

    async def slow_add(request: web.Request, body: dict[str, Any]) -> web.Response:
        arrived.set()
        await asyncio.sleep(0.2)
        return web.json_response({"order_id": 77})

    scripted.handler = slow_add
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    placing = asyncio.create_task(
        client.add(service=1, link="https://x.test/p", quantity=10)
    )
    await arrived.wait()
    await client.aclose()
    assert await placing == 77
    assert scripted.actions() == ["add"]


@pytest.mark.parametrize("status", [401, 429, 500])
async def test_a_session_that_raises_for_status_is_still_classified(
    scripted: ScriptedPanel, status: int
) -> None:
    """A caller's `raise_for_status=True` session does not turn 4xx/5xx into
    connection errors: an `add` refused with 429 is retried, not reported lost."""
    answers = iter([status, 200])

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        code = next(answers)
        if code == 200:
            return web.json_response({"order_id": 5})
        return web.json_response({"error": "no"}, status=code)

    scripted.handler = handler
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = ToplistClient(API_KEY, base_url=scripted.base_url, session=session)
        async with client:
            if status == 429:
                assert await client.add(service=1, link="https://x", quantity=1) == 5
            else:
                with pytest.raises(ToplistError) as caught:
                    await client.add(service=1, link="https://x", quantity=1)
                assert not isinstance(caught.value, APIConnectionError)
