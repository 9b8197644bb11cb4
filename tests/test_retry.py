"""The retry policy: what is sent again per action, how long it waits, what surfaces."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
import tenacity
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from yarl import URL

from tests._helpers import (
    ANSWERS,
    CALLS,
    LINK,
    MockResponse,
    run_retries_on,
    throttled,
)
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Balance,
    CancelResult,
    InternalServerError,
    OrderOutcomeUnknown,
    OrderState,
    OrderStatus,
    RateLimitError,
    ResponseValidationError,
    Service,
    ToplistClient,
)
from toplist_async._retry import RetryPolicy, is_transient
from toplist_async._stats import StatsCounter

READS = ("services", "status", "balance")
MUTATIONS = ("add", "cancel")
ACTIONS = READS + MUTATIONS
ORDER = {"service": 1, "link": LINK, "quantity": 100}

RESULTS: dict[str, object] = {
    "services": [
        Service(
            service=1,
            name="Votes",
            type="Default",
            category="Votes",
            rate=Decimal(10),
            min=1,
            max=50000,
        )
    ],
    "status": OrderStatus(
        order_id=5,
        charge=Decimal(0),
        start_count=None,
        status=OrderState.IN_PROGRESS,
        raw_status="in progress",
        remains=50,
        currency=None,
    ),
    "balance": Balance(balance=Decimal(100), currency="USD"),
    "add": 123,
    "cancel": CancelResult(order_id=5, refund=Decimal(10)),
}


def _ceiling(retry: int) -> float:
    """The full-jitter bound of the wait before retry number `retry` (1-based)."""
    return min(8.0, 0.5 * 2.0 ** (retry - 1))


def _assert_jittered(waits: list[float], count: int) -> None:
    assert len(waits) == count, waits
    for n, wait in enumerate(waits, start=1):
        assert 0 <= wait <= _ceiling(n), (n, wait)


# --- clock and server helpers ---------------------------------------------------


@dataclass
class Clock:
    """A fake monotonic clock that only the policy's sleeps move forward."""

    waited: list[float]
    now: float = 1000.0
    gate: asyncio.Event | None = None
    sleeping: asyncio.Event | None = None

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)
        if self.sleeping is not None:
            self.sleeping.set()
        if self.gate is not None:
            await self.gate.wait()
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Run the policy (and tenacity's deadline) on a clock its sleeps advance."""
    fake = Clock(waited=sleeps)
    run_retries_on(monkeypatch, fake.monotonic, fake.sleep)
    return fake


def _answer(action: str) -> web.Response:
    return web.json_response(ANSWERS[action])


# --- the matrix -----------------------------------------------------------------

Respond = Callable[[web.Request, asyncio.Event], Awaitable[web.StreamResponse]]


async def _reset(request: web.Request, gate: asyncio.Event) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()  # the body was read: the panel has the request
    return web.Response()


async def _stall(request: web.Request, gate: asyncio.Event) -> web.StreamResponse:
    await asyncio.wait_for(gate.wait(), 5)
    return web.json_response({})


def _fixed(make: Callable[[], web.StreamResponse]) -> Respond:
    async def respond(request: web.Request, gate: asyncio.Event) -> web.StreamResponse:
        return make()

    return respond


def _raw(status: int, body: bytes, content_type: str) -> Respond:
    return _fixed(
        lambda: web.Response(status=status, body=body, content_type=content_type)
    )


def _json(status: int, payload: object) -> Respond:
    return _fixed(lambda: web.json_response(payload, status=status))


@dataclass(frozen=True)
class Failure:
    """One way a request fails, and how the policy must treat it.

    kind: "pre-send" (never left), "post-send" (may have reached the panel),
    "throttle" (429 with Retry-After: 2) or "refusal" (a 4xx answer).
    """

    id: str
    kind: str
    error: type[Exception]
    respond: Respond | None = None  # None: the port has nothing listening
    timeout: float = 2.0


FAILURES = [
    Failure("pre-send-refused", "pre-send", APIConnectionError),
    Failure("reset-after-body", "post-send", APIConnectionError, _reset),
    Failure("read-timeout", "post-send", APITimeoutError, _stall, timeout=0.1),
    Failure(
        "429-retry-after",
        "throttle",
        RateLimitError,
        _fixed(lambda: throttled("2")),
    ),
    Failure(
        "500-html",
        "post-send",
        InternalServerError,
        _raw(500, b"<html><h1>500 Server Error</h1></html>", "text/html"),
    ),
    Failure(
        "503",
        "post-send",
        InternalServerError,
        _raw(503, b"Service Unavailable", "text/plain"),
    ),
    Failure(
        "200-html-challenge",
        "post-send",
        ResponseValidationError,
        _raw(200, b"<!DOCTYPE html><title>Just a moment...</title>", "text/html"),
    ),
    Failure(
        "200-empty",
        "post-send",
        ResponseValidationError,
        _raw(200, b"", "application/json"),
    ),
    Failure(
        "200-truncated-json",
        "post-send",
        ResponseValidationError,
        _raw(200, b'{"order_id": 12', "application/json"),
    ),
    Failure("400", "refusal", BadRequestError, _json(400, {"error": "Invalid action"})),
    Failure(
        "401",
        "refusal",
        AuthenticationError,
        _json(401, {"message": "Unauthenticated."}),
    ),
    Failure(
        "403",
        "refusal",
        AuthenticationError,
        _json(403, {"error": "Account suspended"}),
    ),
    Failure(
        "422",
        "refusal",
        BadRequestError,
        _json(
            422,
            {
                "message": "The given data was invalid.",
                "errors": {"link": ["The link field is required."]},
            },
        ),
    ),
]

MATRIX = [
    pytest.param(action, failure, id=f"{action}-{failure.id}")
    for action in ACTIONS
    for failure in FAILURES
]


def _attempts(action: str, kind: str, max_retries: int) -> int:
    if kind == "refusal":
        return 1
    if action in READS or kind in ("pre-send", "throttle"):
        return max_retries + 1
    return 1


@pytest.mark.parametrize(("action", "failure"), MATRIX)
async def test_retry_matrix(
    scripted: ScriptedPanel,
    gate: asyncio.Event,
    dead_url: str,
    sleeps: list[float],
    action: str,
    failure: Failure,
) -> None:
    """Per action and failure: requests sent, the error raised and the waits taken."""
    respond = failure.respond

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        assert respond is not None
        return await respond(request, gate)

    scripted.handler = handler
    base_url = dead_url if respond is None else scripted.base_url
    client = ToplistClient(
        API_KEY, base_url=base_url, timeout=failure.timeout, max_retries=2
    )
    async with client:
        with pytest.raises(Exception) as info:  # noqa: PT011 - checked just below
            await CALLS[action](client)
        stats = client.stats

    attempts = _attempts(action, failure.kind, max_retries=2)
    assert stats.requests == {action: attempts}
    assert stats.retries == attempts - 1
    assert len(scripted.received) == (0 if respond is None else attempts)
    assert scripted.actions() == [action] * len(scripted.received)

    error = info.value
    if action == "add" and failure.kind == "post-send":
        assert type(error) is OrderOutcomeUnknown
        assert type(error.__cause__) is failure.error
        assert error.order == ORDER
        assert API_KEY not in repr(error.order)
    else:
        assert type(error) is failure.error
    if isinstance(error, APIConnectionError):
        assert error.request_sent is (failure.kind != "pre-send")
    if isinstance(error, ResponseValidationError):
        assert error.not_json is True

    if failure.kind == "throttle":
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 2.0
        assert sleeps == [2.0] * (attempts - 1)
    else:
        _assert_jittered(sleeps, attempts - 1)


# --- pre-send failures that recover (aioresponses) ------------------------------

MOCK_URL = "https://panel.example/api/v2"


def _refused() -> Exception:
    key = ConnectionKey("panel.example", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


def _connect_timeout() -> Exception:
    return aiohttp.ConnectionTimeoutError("Connection timeout to host panel.example")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "unsent", [_refused, _connect_timeout], ids=["connector-error", "connect-timeout"]
)
async def test_pre_send_failure_is_retried_and_succeeds(
    sleeps: list[float], action: str, unsent: Callable[[], Exception]
) -> None:
    """A request that never left is sent again, even an add, and then succeeds."""
    with aioresponses() as mocked:
        mocked.post(MOCK_URL, exception=unsent())
        mocked.post(MOCK_URL, payload=ANSWERS[action], response_class=MockResponse)
        async with ToplistClient(API_KEY, base_url=MOCK_URL) as client:
            result = await CALLS[action](client)
            stats = client.stats
        calls = mocked.requests[("POST", URL(MOCK_URL))]
    assert len(calls) == 2
    assert stats.requests == {action: 2}
    assert stats.retries == 1
    _assert_jittered(sleeps, 1)
    assert result == RESULTS[action]


async def test_add_lost_after_send_is_not_resent_by_aioresponses(
    sleeps: list[float],
) -> None:
    """A connection that dies after sending an add raises OrderOutcomeUnknown once."""
    with aioresponses() as mocked:
        mocked.post(MOCK_URL, exception=aiohttp.ServerDisconnectedError())
        mocked.post(MOCK_URL, payload={"order_id": 2}, response_class=MockResponse)
        async with ToplistClient(API_KEY, base_url=MOCK_URL) as client:
            with pytest.raises(OrderOutcomeUnknown) as info:
                await client.add(service=1, link=LINK, quantity=100)
        calls = mocked.requests[("POST", URL(MOCK_URL))]
    assert len(calls) == 1
    assert isinstance(info.value.__cause__, APIConnectionError)
    assert info.value.__cause__.request_sent is True
    assert sleeps == []


async def test_add_timing_out_after_send_reaches_the_server_once(
    scripted: ScriptedPanel, gate: asyncio.Event, sleeps: list[float]
) -> None:
    """An add the server received but answered too late is never sent again."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        return await _stall(request, gate)

    scripted.handler = handler
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, timeout=0.1, max_retries=5
    )
    async with client:
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.add(service=1, link=LINK, quantity=100)
    assert scripted.actions() == ["add"]
    assert isinstance(info.value.__cause__, APITimeoutError)
    assert info.value.order == ORDER
    assert sleeps == []


# --- budgets --------------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 2, 4])
async def test_max_retries_bounds_the_requests(
    scripted: ScriptedPanel, sleeps: list[float], max_retries: int
) -> None:
    """`max_retries=n` sends at most n+1 requests of a failing read."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(
            status=502, text="<h1>Bad Gateway</h1>", content_type="text/html"
        )

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=max_retries)
    async with client:
        with pytest.raises(InternalServerError):
            await client.balance()
        stats = client.stats
    assert len(scripted.received) == max_retries + 1
    assert stats.requests == {"balance": max_retries + 1}
    assert stats.retries == max_retries
    _assert_jittered(sleeps, max_retries)


def test_negative_max_retries_is_refused() -> None:
    """A negative retry budget is a programming error caught at construction."""
    with pytest.raises(ValueError, match="max_retries"):
        ToplistClient(API_KEY, max_retries=-1)


async def test_backoff_is_full_jitter_under_a_growing_cap(
    scripted: ScriptedPanel, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wait n is uniform in [0, min(8, 0.5 * 2**(n-1))]: 0.5, 1, 2, 4, 8, 8."""
    bounds: list[tuple[float, float]] = []
    real_uniform = random.uniform

    def spy(low: float, high: float) -> float:
        bounds.append((low, high))
        return real_uniform(low, high)

    monkeypatch.setattr(random, "uniform", spy)

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(status=500)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=6) as c:
        with pytest.raises(InternalServerError):
            await c.services()
    # tenacity also sizes the wait after the last attempt, to check the deadline.
    assert bounds[:6] == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 8.0), (0, 8.0)]
    _assert_jittered(sleeps, 6)


async def test_jitter_spreads_the_waits(
    scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    """Waits are random: many first waits are not all equal and stay under 0.5 s."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(status=500)

    scripted.handler = handler
    random.seed(1234)
    async with ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=1) as c:
        for _ in range(20):
            with pytest.raises(InternalServerError):
                await c.balance()
    assert len(sleeps) == 20
    assert all(0 <= s <= 0.5 for s in sleeps)
    assert len(set(sleeps)) > 10
    assert min(sleeps) < 0.25 < max(sleeps)


@pytest.mark.parametrize(
    ("retry_after", "deadline", "requests", "waits"),
    [
        ("2", 5.0, 3, [2.0, 2.0]),
        ("2", 4.0, 3, [2.0, 2.0]),
        ("2", 3.9, 2, [2.0]),
        ("5", 4.0, 1, []),
    ],
    ids=[
        "two-waits-fit",
        "ends-exactly-at-deadline",
        "second-wait-crosses",
        "first-crosses",
    ],
)
async def test_deadline_stops_before_a_wait_would_cross_it(
    scripted: ScriptedPanel,
    sleeps: list[float],
    retry_after: str,
    deadline: float,
    requests: int,
    waits: list[float],
) -> None:
    """`retry_deadline` ends the retries when the next wait would pass it."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return throttled(retry_after)

    scripted.handler = handler
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=10, retry_deadline=deadline
    )
    async with client:
        with pytest.raises(RateLimitError):
            await client.balance()
    assert len(scripted.received) == requests
    assert sleeps == waits


async def test_deadline_bounds_jittered_backoff(
    scripted: ScriptedPanel, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the largest jitter, waits 0.5 + 1 fit in 2 s and the next 2 s would not."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(status=500)

    scripted.handler = handler
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=10, retry_deadline=2.0
    )
    async with client:
        with pytest.raises(InternalServerError):
            await client.services()
    assert sleeps == [0.5, 1.0]
    assert len(scripted.received) == 3


# --- Retry-After ----------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
async def test_retry_after_is_honoured_exactly(
    scripted: ScriptedPanel, sleeps: list[float], action: str
) -> None:
    """A 429 with Retry-After waits exactly that long, then the call succeeds."""
    seen: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append(body["action"])
        return throttled("3.5") if len(seen) == 1 else _answer(action)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await CALLS[action](client)
        stats = client.stats
    assert seen == [action, action]
    assert sleeps == [3.5]
    assert stats.rate_limit_pauses == 1
    assert stats.retries == 1


async def test_retry_after_as_http_date(
    scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    """A Retry-After given as an HTTP date waits until that date."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seen: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append(body["action"])
        return throttled(when) if len(seen) == 1 else _answer("balance")

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await client.balance()
    assert len(seen) == 2
    assert len(sleeps) == 1
    assert 28.0 < sleeps[0] <= 30.0


async def test_rate_limit_without_retry_after_backs_off_with_jitter(
    scripted: ScriptedPanel, sleeps: list[float]
) -> None:
    """A 429 naming no wait is retried (even an add) after a jittered backoff."""
    seen: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append(body["action"])
        if len(seen) == 1:
            return web.json_response({"error": "Too many requests"}, status=429)
        return _answer("add")

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        assert await client.add(service=1, link=LINK, quantity=100) == 123
        stats = client.stats
    assert seen == ["add", "add"]
    _assert_jittered(sleeps, 1)
    assert stats.rate_limit_pauses == 0


@pytest.mark.parametrize("action", ACTIONS)
async def test_long_retry_after_is_raised_not_waited(
    scripted: ScriptedPanel, sleeps: list[float], action: str
) -> None:
    """A Retry-After above 60 s raises RateLimitError with it, and pauses nothing."""
    seen: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append(body["action"])
        return throttled("120") if len(seen) == 1 else _answer("balance")

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(RateLimitError) as info:
            await CALLS[action](client)
        assert info.value.retry_after == 120.0
        await client.balance()
        stats = client.stats
    assert seen == [action, "balance"]
    assert sleeps == []
    assert stats.rate_limit_pauses == 0


async def test_rate_limit_pause_holds_other_concurrent_calls(
    scripted: ScriptedPanel, clock: Clock, sleeps: list[float]
) -> None:
    """After a 429 with Retry-After, a call started later waits out the same pause."""
    clock.gate = asyncio.Event()
    clock.sleeping = asyncio.Event()
    seen: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append(body["action"])
        return throttled("5") if len(seen) == 1 else _answer(body["action"])

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        services = asyncio.create_task(client.services())
        await asyncio.wait_for(clock.sleeping.wait(), 2)  # services is backing off
        clock.sleeping.clear()
        balance = asyncio.create_task(client.balance())
        await asyncio.wait_for(clock.sleeping.wait(), 2)  # balance is held too
        assert seen == ["services"]
        clock.gate.set()
        await asyncio.gather(services, balance)
        stats = client.stats
    assert sleeps == [5.0, 5.0]
    assert sorted(seen) == ["balance", "services", "services"]
    assert stats.rate_limit_pauses == 1
    assert stats.retries == 1


# --- cancellation ---------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
async def test_cancelled_mid_request_is_not_retried(
    scripted: ScriptedPanel, gate: asyncio.Event, sleeps: list[float], action: str
) -> None:
    """Cancelling a call while its request is in flight ends it cancelled, no retry."""
    arrived = asyncio.Event()

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        arrived.set()
        await asyncio.wait_for(gate.wait(), 5)
        return _answer(body["action"])

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        task = asyncio.create_task(CALLS[action](client))
        await asyncio.wait_for(arrived.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        stats = client.stats
        gate.set()  # lets a sent cancel (a mutation) finish before aclose
    assert len(scripted.received) == 1
    assert stats.retries == 0
    assert sleeps == []


@pytest.mark.parametrize("action", ["services", "status", "balance", "add"])
async def test_cancelled_mid_backoff_is_not_retried(
    scripted: ScriptedPanel, clock: Clock, sleeps: list[float], action: str
) -> None:
    """Cancelling a call while it waits to retry ends it cancelled after one request."""
    clock.gate = asyncio.Event()  # never set: the backoff blocks until cancelled
    clock.sleeping = asyncio.Event()

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return throttled("1")

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        task = asyncio.create_task(CALLS[action](client))
        await asyncio.wait_for(clock.sleeping.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        await asyncio.sleep(0.01)  # room for a wrongful retry to show up
    assert len(scripted.received) == 1
    assert sleeps == [1.0]


@pytest.mark.parametrize("action", ACTIONS)
async def test_enclosing_timeout_is_prompt_and_not_retried(
    scripted: ScriptedPanel, gate: asyncio.Event, sleeps: list[float], action: str
) -> None:
    """An `asyncio.timeout` around a slow call raises TimeoutError at once, no retry."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        await asyncio.wait_for(gate.wait(), 5)
        return _answer(body["action"])

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url, timeout=5) as client:
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await CALLS[action](client)
        elapsed = time.perf_counter() - started
        stats = client.stats
        gate.set()
    assert elapsed < 1.0
    assert len(scripted.received) == 1
    assert stats.retries == 0
    assert sleeps == []


# --- counters -------------------------------------------------------------------


async def test_stats_count_requests_and_retries_per_action(
    scripted: ScriptedPanel,
) -> None:
    """`requests` counts every attempt per action; `retries` only the repeated ones."""
    failures = {"services": 2, "balance": 1}

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        action = body["action"]
        if failures.get(action, 0) > 0:
            failures[action] -= 1
            return web.Response(status=503)
        return _answer(action)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await client.services()
        await client.balance()
        await client.add(service=1, link=LINK, quantity=100)
        await client.status(5)
        stats = client.stats
    assert stats.requests == {"services": 3, "balance": 2, "add": 1, "status": 1}
    assert stats.retries == 3


# --- the policy on its own --------------------------------------------------------


def _policy(max_retries: int = 10, deadline: float = 60.0) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, deadline=deadline, stats=StatsCounter())


async def test_a_first_attempt_that_succeeds_does_not_run_tenacity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tenacity costs tens of µs a call: only a retryable failure hands over to it."""
    built: list[object] = []

    class Counted(tenacity.AsyncRetrying):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tenacity, "AsyncRetrying", Counted)
    policy = _policy()
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        return "done"

    assert await policy.call("balance", attempt, is_transient) == "done"
    assert (calls, built) == (1, [])

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise APIConnectionError("refused", request_sent=False)
        return "done"

    assert await policy.call("balance", flaky, is_transient) == "done"
    assert calls == 4
    assert len(built) == 1
    assert policy._stats.retries == 2


async def test_the_deadline_counts_the_first_attempt(clock: Clock) -> None:
    """A slow first attempt uses up the deadline as the later ones do."""
    policy = _policy(deadline=4.0)
    calls = 0

    async def slow_failure() -> str:
        nonlocal calls
        calls += 1
        clock.now += 3.0
        raise APIConnectionError("refused", request_sent=False)

    with pytest.raises(APIConnectionError):
        await policy.call("balance", slow_failure, is_transient)
    # 3 s, a wait of at most 0.5 s, 3 s more: the next wait would cross 4 s.
    assert calls == 2
    assert policy._stats.retries == 1


async def test_retries_are_logged_and_the_last_error_is_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each retry logs its number, wait and cause; the final error is the last one."""
    policy = _policy(max_retries=2)
    errors = [InternalServerError(f"down {n}", status_code=503) for n in range(3)]

    async def failing() -> str:
        raise errors.pop(0)

    with (
        caplog.at_level("DEBUG", logger="toplist_async"),
        pytest.raises(InternalServerError, match="down 2"),
    ):
        await policy.call("services", failing, is_transient)
    lines = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(lines) == 2
    assert lines[0].startswith("services: retrying in ")
    assert lines[0].endswith(" s after HTTP 503 (attempt 2 of 3)")
    assert lines[1].startswith("services: retrying in ")
    assert lines[1].endswith("(attempt 3 of 3)")
    assert {r.levelname for r in caplog.records if "retry" in r.getMessage()} == {
        "INFO"
    }
