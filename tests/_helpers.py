"""Plain helpers several test modules share: spec bodies, handlers, shims, clocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import tenacity
from aiohttp import web
from yarl import URL

from tests.conftest import Handler
from toplist_async import (
    OrderState,
    OrderStatus,
    Service,
    ToplistClient,
    _pacing,
    _retry,
)

# --- the API document's answers -------------------------------------------------

# The response bodies of the API document, byte for byte.
SPEC_SERVICES = (
    b'[ { "service": 1, "name": "Example Service 1000 votes", "type": "Default", '
    b'"category": "Votes", "rate": 10.0, "min": 1, "max": 50000, "refill": false, '
    b'"cancel": true } ]'
)
SPEC_ADD = b'{ "order_id": 123 }'
SPEC_STATUS = (
    b'{ "123": { "charge": 0, "start_count": 50, "status": "in progress", '
    b'"remains": 50, "currency": "USD" }, "124": { "charge": 0, "start_count": 100, '
    b'"status": "completed", "remains": 0, "currency": "USD" } }'
)
SPEC_BALANCE = b'{ "balance": 100.0, "currency": "USD" }'
SPEC_CANCEL = (
    b'[ { "order": "123", "cancel": 1, "refund": 10.0 }, { "order": "124", '
    b'"cancel": { "error": "Order already completed and cannot be canceled" } } ]'
)

# The models those bodies decode to.
SPEC_SERVICE = Service(
    service=1,
    name="Example Service 1000 votes",
    type="Default",
    category="Votes",
    rate=Decimal("10.0"),
    min=1,
    max=50000,
    refill=False,
    cancel=True,
)
SPEC_123 = OrderStatus(
    order_id=123,
    charge=Decimal(0),
    start_count=50,
    status=OrderState.IN_PROGRESS,
    raw_status="in progress",
    remains=50,
    currency="USD",
)
SPEC_124 = OrderStatus(
    order_id=124,
    charge=Decimal(0),
    start_count=100,
    status=OrderState.COMPLETED,
    raw_status="completed",
    remains=0,
    currency="USD",
)

# --- one short answer per action, and the call that asks for it -----------------

LINK = "https://example.com/post/1"

ANSWERS: dict[str, object] = {
    "services": [
        {
            "service": 1,
            "name": "Votes",
            "type": "Default",
            "category": "Votes",
            "rate": 10.0,
            "min": 1,
            "max": 50000,
        }
    ],
    "status": {"5": {"charge": 0, "status": "in progress", "remains": 50}},
    "balance": {"balance": 100.0, "currency": "USD"},
    "add": {"order_id": 123},
    "cancel": [{"order": "5", "cancel": 1, "refund": 10.0}],
}

CALLS: dict[str, Callable[[ToplistClient], Coroutine[Any, Any, object]]] = {
    "services": lambda c: c.services(),
    "status": lambda c: c.status(5),
    "balance": lambda c: c.balance(),
    "add": lambda c: c.add(service=1, link=LINK, quantity=100),
    "cancel": lambda c: c.cancel(5),
}

# --- answering and mocking ------------------------------------------------------


def respond(
    raw: bytes,
    *,
    status: int = 200,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Handler:
    """A handler that answers every request with the given status, body, headers."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        return web.Response(body=raw, status=status, headers=all_headers)

    return handler


def throttled(retry_after: int | str) -> web.Response:
    """A 429 "Too Many Attempts." whose Retry-After header is `retry_after`."""
    return web.json_response(
        {"message": "Too Many Attempts."},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


class MockResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 omits the `stream_writer` that aiohttp 3.14 requires."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


# --- a fake clock for the retry policy ------------------------------------------


def run_retries_on(
    monkeypatch: pytest.MonkeyPatch,
    monotonic: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Give the retry policy, its pacing and tenacity's deadline a fake clock."""
    fake_time = SimpleNamespace(monotonic=monotonic)
    monkeypatch.setattr(_retry, "time", fake_time)
    monkeypatch.setattr(_pacing, "time", fake_time)
    monkeypatch.setattr(tenacity, "time", fake_time)
    monkeypatch.setattr(_retry, "sleep", sleep)


# --- what an exception shows ----------------------------------------------------


def exception_texts(exc: BaseException | None) -> Iterator[str]:
    """Every text an exception (and its causes) shows: str, repr, args, attributes."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield str(exc)
        yield repr(exc)
        yield repr(exc.args)
        for attr in ("message", "body", "errors", "order"):
            if hasattr(exc, attr):
                yield repr(getattr(exc, attr))
        exc = exc.__cause__ or exc.__context__
