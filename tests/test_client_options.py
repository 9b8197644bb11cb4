"""Client configuration: environment, proxies, with_options, add's fields, hooks."""

from __future__ import annotations

import asyncio
import inspect
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    RequestEvent,
    ResponseEvent,
    ToplistClient,
)
from toplist_async._fields import CLIENT_OPTIONS
from toplist_async.testing import FakePanel

Body = dict[str, Any]


def answers(*replies: web.Response) -> Any:
    """A handler giving `replies` in turn, then the last one forever."""
    queue = list(replies)

    async def handler(request: web.Request, body: Body) -> web.Response:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        # A response object is sent once: hand out a copy.
        return web.Response(
            body=reply.body, status=reply.status, headers=reply.headers.copy()
        )

    return handler


# --- environment -------------------------------------------------------------


async def test_base_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ToplistClient()` reads $TOPLIST_BASE_URL as well as $TOPLIST_API_KEY."""
    async with FakePanel() as url:
        monkeypatch.setenv("TOPLIST_API_KEY", API_KEY)
        monkeypatch.setenv("TOPLIST_BASE_URL", url)
        async with ToplistClient() as client:
            assert (await client.balance()).currency == "USD"


def test_base_url_argument_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPLIST_BASE_URL", "https://from-env.example/api/v2")
    assert "explicit.example" in repr(
        ToplistClient(API_KEY, base_url="https://explicit.example/api/v2")
    )
    assert "from-env.example" in repr(ToplistClient(API_KEY))


# --- add's fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        pytest.param({"timeout": 5}, "an option of the client", id="timeout"),
        pytest.param({"max_retries": 0}, "an option of the client", id="max-retries"),
        pytest.param({"extra_headers": {}}, "an option of the client", id="extra"),
        pytest.param({"quantiy": 100}, "did you mean 'quantity'?", id="quantiy"),
        pytest.param({"lnk": "x"}, "did you mean 'link'?", id="lnk"),
        pytest.param({"service_id": 2}, "did you mean 'service'?", id="service-id"),
        pytest.param({"comments": {"a": 1}}, "not dict", id="dict-value"),
        pytest.param({"usernames": ["a", 2]}, "list of strings", id="mixed-list"),
        pytest.param({"media": object()}, "not object", id="object-value"),
    ],
)
async def test_add_refuses_what_cannot_be_a_field_before_sending(
    client: ToplistClient,
    scripted: ScriptedPanel,
    fields: dict[str, Any],
    words: str,
) -> None:
    """Client options, misspellings and odd values raise TypeError; nothing is sent."""
    scripted.handler = answers(web.json_response({"order": 1}))
    with pytest.raises(TypeError, match=words.replace("?", r"\?").replace("(", r"\(")):
        await client.add(service=1, link="https://x.test/1", quantity=10, **fields)
    assert scripted.received == []


async def test_add_sends_the_extra_fields_of_a_service_type(
    client: ToplistClient, scripted: ScriptedPanel
) -> None:
    """Real extra fields pass: strings, numbers, booleans and lists of strings."""
    scripted.handler = answers(web.json_response({"order": 7}))
    order = await client.add(
        service=4,
        link="https://x.test/1",
        comments=["nice", "wow"],
        answer_number=2,
        min=10,
        max=20,
        delay=Decimal("1.5"),
        expiry=None,
    )
    assert order == 7
    sent = scripted.received[0]
    assert sent["comments"] == "nice\nwow"
    numbers = (sent["answer_number"], sent["min"], sent["max"])
    assert tuple(map(str, numbers)) == ("2", "10", "20")  # form encoding: text
    assert "expiry" not in sent


def test_every_client_option_is_refused_as_an_add_field() -> None:
    """The refused names cover every parameter of `ToplistClient(...)`."""
    parameters = set(inspect.signature(ToplistClient.__init__).parameters) - {"self"}
    assert parameters <= CLIENT_OPTIONS


# --- with_options --------------------------------------------------------------


async def test_with_options_changes_retries_and_shares_everything_else(
    scripted: ScriptedPanel,
) -> None:
    """A view retries as told, counts in the same stats and closes nothing."""
    scripted.handler = answers(web.json_response({"error": "down"}, status=500))
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        view = client.with_options(max_retries=0)
        with pytest.raises(InternalServerError):
            await view.balance()
        assert len(scripted.received) == 1
        with pytest.raises(InternalServerError):
            await client.balance()
        assert len(scripted.received) == 1 + 3  # the client keeps its 2 retries
        assert client.stats.requests["balance"] == 4
        assert view._transport is client._transport
        assert view._statuses is client._statuses
        assert view._retry is client._retry  # one 429 pause, one rate limit
        await view.aclose()
        scripted.handler = answers(web.json_response({"balance": "1", "currency": "U"}))
        assert (await client.balance()).balance == 1  # still open


async def test_with_options_timeout_applies_to_the_view_only(
    scripted: ScriptedPanel, gate: asyncio.Event
) -> None:
    async def slow(request: web.Request, body: Body) -> web.Response:
        if body["action"] == "balance":
            await gate.wait()
        return web.json_response({"order": 5})

    scripted.handler = slow
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(APITimeoutError):
            await client.with_options(timeout=0.05, max_retries=0).balance()
        assert await client.add(service=1, link="https://x.test/1", quantity=1) == 5


@pytest.mark.parametrize(
    "options", [{"timeout": 0}, {"timeout": -1.0}, {"max_retries": -1}]
)
def test_with_options_refuses_nonsense(options: dict[str, Any]) -> None:
    client = ToplistClient(API_KEY)
    with pytest.raises(ValueError, match=r"timeout|max_retries"):
        client.with_options(**options)


async def test_a_429_seen_by_a_view_pauses_the_client(
    scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    scripted.handler = answers(
        web.json_response({"error": "slow"}, status=429, headers={"Retry-After": "3"}),
        web.json_response({"balance": "1", "currency": "USD"}),
    )
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await client.with_options(timeout=10).balance()
        assert client.stats.rate_limit_pauses == 1
        assert sleeps
        assert sleeps[0] == pytest.approx(3, abs=0.5)


# --- hooks and headers ---------------------------------------------------------


async def test_hooks_hear_every_attempt(scripted: ScriptedPanel) -> None:
    """on_request/on_response get action, ids, attempt, status, elapsed, headers."""
    scripted.handler = answers(
        web.json_response({"error": "down"}, status=503),
        web.json_response(
            {"1": {"status": "Pending", "charge": "1", "remains": 5,
                   "start_count": 0, "currency": "USD"},
             "2": {"error": "Incorrect order ID"}},
            headers={"X-RateLimit-Remaining": "41"},
        ),
    )  # fmt: skip
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []

    async def on_response(event: ResponseEvent) -> None:  # coroutines work too
        responses.append(event)

    async with ToplistClient(
        API_KEY,
        base_url=scripted.base_url,
        on_request=requests.append,
        on_response=on_response,
    ) as client:
        await client.status_many([1, 2])
    assert requests == [RequestEvent("status", 2, 1), RequestEvent("status", 2, 2)]
    assert [(r.action, r.ids, r.attempt, r.status_code) for r in responses] == [
        ("status", 2, 1, 503),
        ("status", 2, 2, 200),
    ]
    assert isinstance(responses[0].error, InternalServerError)
    assert responses[1].error is None
    assert responses[1].headers["x-ratelimit-remaining"] == "41"
    assert all(r.elapsed >= 0 for r in responses)


async def test_a_failing_hook_never_costs_an_order(
    scripted: ScriptedPanel, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.handler = answers(web.json_response({"order": 99}))

    def broken(event: object) -> None:
        raise RuntimeError("metrics backend down")

    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, on_request=broken, on_response=broken
    ) as client:
        with caplog.at_level(logging.ERROR, logger="toplist_async"):
            assert await client.add(service=1, link="https://x.test", quantity=1) == 99
    assert "hook failed" in caplog.text


async def test_errors_carry_the_answers_headers_with_the_key_hidden(
    client: ToplistClient, scripted: ScriptedPanel
) -> None:
    scripted.handler = answers(
        web.json_response(
            {"error": "Too many requests"},
            status=429,
            headers={"X-RateLimit-Remaining": "0", "X-Echo": f"key={API_KEY}"},
        )
    )
    with pytest.raises(RateLimitError) as raised:
        await client.balance()
    assert raised.value.headers["X-RateLimit-Remaining"] == "0"
    assert API_KEY not in raised.value.headers["x-echo"]


async def test_aiohttp_traces_see_the_action(scripted: ScriptedPanel) -> None:
    """A TraceConfig (OpenTelemetry's, say) can name its span after the action."""
    scripted.handler = answers(web.json_response({"balance": "1", "currency": "U"}))
    seen: list[Any] = []

    async def on_start(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        seen.append(context.trace_request_ctx)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        ToplistClient(API_KEY, base_url=scripted.base_url, session=session) as client,
    ):
        await client.balance()
    assert seen == [{"action": "balance", "ids": 0}]


# --- proxies -------------------------------------------------------------------


async def test_proxy_carries_the_requests(scripted: ScriptedPanel) -> None:
    """proxy= sends each request to the proxy, which reaches the panel for us."""
    scripted.handler = answers(web.json_response({"balance": "2", "currency": "USD"}))
    proxy = scripted.base_url.removesuffix("/api/v2")
    async with ToplistClient(
        API_KEY,
        base_url="http://panel.invalid/api/v2",  # resolvable by the proxy only
        proxy=proxy,
        allow_http=True,
    ) as client:
        assert (await client.balance()).balance == 2
    assert scripted.received[0]["action"] == "balance"


async def test_trust_env_uses_the_environments_proxy(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.handler = answers(web.json_response({"balance": "3", "currency": "USD"}))
    monkeypatch.setenv("HTTP_PROXY", scripted.base_url.removesuffix("/api/v2"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    base = "http://panel.invalid/api/v2"
    async with ToplistClient(API_KEY, base_url=base, allow_http=True) as client:
        assert (await client.balance()).balance == 3
    async with ToplistClient(
        API_KEY, base_url=base, allow_http=True, trust_env=False, max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError):
            await client.balance()


async def test_a_loopback_panel_is_asked_directly_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch, dead_url: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", dead_url.removesuffix("/api/v2"))
    async with FakePanel() as url, ToplistClient(API_KEY, base_url=url) as client:
        assert (await client.balance()).currency == "USD"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api/v2", "http://panel.example/api/v2"]
)
def test_plain_http_through_a_proxy_is_refused(url: str) -> None:
    """Through a proxy the key would cross the network in clear, even to loopback."""
    with pytest.raises(ValueError, match="unencrypted"):
        ToplistClient(API_KEY, base_url=url, proxy="http://proxy.example:3128")
    ToplistClient(API_KEY, base_url=url, proxy="http://p:1", allow_http=True)
    ToplistClient(API_KEY, base_url="https://panel.example/api/v2", proxy="http://p:1")
