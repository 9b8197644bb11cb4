"""The wire: one POST per call, auth, encoding, safe HTTP, reading, no key leaks."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses
from yarl import URL

from tests._helpers import MockResponse, exception_texts
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Balance,
    InsufficientFundsError,
    InternalServerError,
    OrderError,
    OrderOutcomeUnknown,
    RateLimitError,
    ResponseValidationError,
    Service,
    ToplistClient,
    _caps,
)

BALANCE = {"balance": "12.50", "currency": "USD"}
SERVICES = [
    {
        "service": 1,
        "name": "Votes",
        "type": "Default",
        "category": "Votes",
        "rate": 10.0,
        "min": 1,
        "max": 50000,
        "refill": False,
        "cancel": True,
    }
]


def _json(payload: object, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status)


# --- what goes on the wire ------------------------------------------------------


async def test_posts_form_to_base_url_with_accept_json(scripted: ScriptedPanel) -> None:
    """A call is one POST to exactly base_url, a form body (the default, which
    every panel of the family reads) with action and key."""
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        seen.append((request.method, request.path))
        return _json(BALANCE)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        await client.balance()
    assert seen == [("POST", "/api/v2")]
    assert scripted.received == [{"action": "balance", "key": API_KEY}]
    headers = scripted.headers[0]
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in headers


@pytest.mark.parametrize(
    ("auth", "key_in_body", "bearer_header"),
    [("body", True, False), ("bearer", False, True), ("both", True, True)],
)
async def test_auth_puts_the_key_where_asked(
    scripted: ScriptedPanel, auth: Any, key_in_body: bool, bearer_header: bool
) -> None:
    """`auth` puts the key in the body, in a Bearer header, or in both."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return _json(BALANCE)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url, auth=auth) as client:
        await client.balance()
    body, headers = scripted.received[0], scripted.headers[0]
    assert ("key" in body) is key_in_body
    if key_in_body:
        assert body["key"] == API_KEY
    assert body["action"] == "balance"
    if bearer_header:
        assert headers["Authorization"] == f"Bearer {API_KEY}"
    else:
        assert "Authorization" not in headers


async def test_form_encoding_sends_form_fields(scripted: ScriptedPanel) -> None:
    """`encoding="form"` sends urlencoded fields, lists one entry per line."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return _json({"order_id": 9})

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, encoding="form")
    async with client:
        order = await client.add(
            service=3, link="https://example.com/p?a=1&b=2", comments=["hi", "there"]
        )
    assert order == 9
    assert scripted.headers[0]["Content-Type"].startswith(
        "application/x-www-form-urlencoded"
    )
    assert scripted.received == [
        {
            "action": "add",
            "key": API_KEY,
            "service": "3",
            "link": "https://example.com/p?a=1&b=2",
            "comments": "hi\nthere",
        }
    ]


async def test_wire_exact_request_with_aioresponses() -> None:
    """The request is a POST to base_url with redirects off and an exact JSON body
    when `encoding="json"`."""
    base_url = "https://panel.example/api/v2"
    calls: list[tuple[URL, dict[str, Any]]] = []

    def callback(url: URL, **kwargs: Any) -> None:
        calls.append((url, kwargs))

    with aioresponses() as mocked:
        mocked.post(
            base_url,
            payload={"order_id": 77},
            callback=callback,
            response_class=MockResponse,
        )
        client = ToplistClient(API_KEY, base_url=base_url, encoding="json")
        async with client:
            order = await client.add(service=5, link="https://x.example/1", quantity=10)
    assert order == 77
    [(url, kwargs)] = calls
    assert str(url) == base_url
    assert kwargs["allow_redirects"] is False
    assert json.loads(kwargs["data"]) == {
        "action": "add",
        "key": API_KEY,
        "service": 5,
        "link": "https://x.example/1",
        "quantity": 10,
    }
    assert kwargs["headers"]["Accept"] == "application/json"


# --- redirects and odd bodies ---------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 307, 308])
async def test_redirects_are_not_followed(scripted: ScriptedPanel, code: int) -> None:
    """A 3xx is an error: the key is never carried to the Location, even same-host."""
    paths: list[str] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        paths.append(request.path)
        if request.path == "/elsewhere":
            return _json(BALANCE)
        origin = scripted.base_url.removesuffix("/api/v2")
        return web.Response(status=code, headers={"Location": f"{origin}/elsewhere"})

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(APIError) as info:
            await client.balance()
    assert info.value.status_code == code
    assert "/elsewhere" in info.value.message
    assert paths == ["/api/v2"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xef\xbb\xbf" + json.dumps(BALANCE).encode(), "application/json"),
        (json.dumps(BALANCE).encode(), "text/html"),
        (b"\xef\xbb\xbf" + json.dumps(BALANCE).encode(), "text/html"),
        (json.dumps(BALANCE).encode(), "application/octet-stream"),
    ],
    ids=["bom", "json-as-html", "bom-as-html", "octet-stream"],
)
async def test_json_is_read_whatever_the_content_type(
    scripted: ScriptedPanel, body: bytes, content_type: str
) -> None:
    """Valid JSON is decoded despite a UTF-8 BOM or a wrong Content-Type."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        assert await client.balance() == Balance(
            balance=Decimal("12.50"), currency="USD"
        )


async def test_services_served_as_text_html_are_decoded(
    scripted: ScriptedPanel,
) -> None:
    """A list answer served as text/html still becomes typed services."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(text=json.dumps(SERVICES), content_type="text/html")

    scripted.handler = handler
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        services = await client.services()
    assert services == [
        Service(
            service=1,
            name="Votes",
            type="Default",
            category="Votes",
            rate=Decimal("10.0"),
            min=1,
            max=50000,
            refill=False,
            cancel=True,
        )
    ]


async def test_declared_oversized_body_is_refused(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Content-Length above the cap raises ResponseValidationError."""
    monkeypatch.setattr(_caps, "MAX_RESPONSE_BYTES", 1024)

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return web.Response(body=b"[" + b" " * 4096 + b"]", content_type="text/plain")

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    async with client:
        with pytest.raises(ResponseValidationError, match="1024"):
            await client.services()


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_declared_length_under_the_cap_still_caps_what_it_inflates_to(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """A compressed body with a small Content-Length cannot inflate past the cap."""
    monkeypatch.setattr(_caps, "MAX_RESPONSE_BYTES", 64 * 1024)
    services = b"[" + b" " * (1 << 20) + b"]"  # 1 MiB once inflated
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    gzipped = packer.compress(services) + packer.flush()
    assert len(gzipped) < 64 * 1024

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        if encoding == "identity":
            return web.Response(body=b"[]", content_type="application/json")
        return web.Response(
            body=gzipped,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    async with client:
        if encoding == "identity":
            assert await client.services() == []
        else:
            with pytest.raises(ResponseValidationError, match=str(64 * 1024)):
                await client.services()


async def test_endless_stream_is_cut_at_the_cap(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body streamed past the cap raises at once; the client stops reading it."""
    monkeypatch.setattr(_caps, "MAX_RESPONSE_BYTES", 64 * 1024)
    chunk, total = b" " * 65536, 20_000  # 1.3 GB if it were all read
    written: list[int] = []
    stopped = asyncio.Event()

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        sent = 0
        try:
            await response.write(b"[")
            while sent < total:
                await response.write(chunk)
                sent += 1
        except ConnectionError:
            pass
        finally:
            written.append(sent)
            stopped.set()
        return response

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    started = time.perf_counter()
    async with client:
        with pytest.raises(ResponseValidationError):
            await client.services()
        await asyncio.wait_for(stopped.wait(), 5)
    assert time.perf_counter() - started < 5
    assert written[0] < total


# --- connection failures --------------------------------------------------------


async def test_connection_refused_is_unsent(dead_url: str) -> None:
    """Nothing listening raises APIConnectionError with request_sent False."""
    async with ToplistClient(API_KEY, base_url=dead_url, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.balance()
    assert type(info.value) is APIConnectionError
    assert info.value.request_sent is False


async def test_server_closing_mid_request_is_sent(scripted: ScriptedPanel) -> None:
    """A connection dropped after the body arrived raises with request_sent True."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.balance()
    assert type(info.value) is APIConnectionError
    assert info.value.request_sent is True
    assert len(scripted.received) == 1


async def test_slow_server_times_out(
    scripted: ScriptedPanel, gate: asyncio.Event
) -> None:
    """A server slower than `timeout` raises APITimeoutError, an APIConnectionError."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        await asyncio.wait_for(gate.wait(), 5)
        return _json(BALANCE)

    scripted.handler = handler
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, timeout=0.2, max_retries=0
    )
    started = time.perf_counter()
    async with client:
        with pytest.raises(APITimeoutError) as info:
            await client.balance()
    assert 0.15 < time.perf_counter() - started < 2
    assert isinstance(info.value, APIConnectionError)
    assert info.value.request_sent is True


# --- sessions -------------------------------------------------------------------


async def test_owned_session_is_lazy_single_and_reused(
    scripted: ScriptedPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No session before the first call; then one session and one connection."""
    created: list[aiohttp.ClientSession] = []
    real_session = aiohttp.ClientSession

    def counting_session(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = real_session(*args, **kwargs)
        created.append(session)
        return session

    monkeypatch.setattr(aiohttp, "ClientSession", counting_session)
    peers: list[object] = []

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return _json(BALANCE if body["action"] == "balance" else SERVICES)

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    assert created == []
    async with client:
        await client.balance()
        await client.services()
        await client.balance()
    assert len(created) == 1
    assert len(peers) == 3
    assert len(set(peers)) == 1
    assert created[0].closed


async def test_callers_session_is_used_and_left_open(scripted: ScriptedPanel) -> None:
    """A session passed in carries the requests and is not closed by aclose()."""

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        return _json(BALANCE)

    scripted.handler = handler
    async with aiohttp.ClientSession(headers={"X-Caller-Session": "yes"}) as session:
        client = ToplistClient(API_KEY, base_url=scripted.base_url, session=session)
        await client.balance()
        await client.aclose()
        assert not session.closed
        # Still usable by its owner after the client let go of it.
        async with session.post(scripted.base_url, json={"action": "balance"}) as r:
            assert r.status == 200
    assert scripted.headers[0]["X-Caller-Session"] == "yes"


# --- base_url checks ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://backend.toplistbot.com/api/v2",
        "http://10.0.0.5/api/v2",
        "http://192.168.1.10:8080/api/v2",
        "http://[2001:db8::1]/api/v2",
        "http://localhost.evil.example/api/v2",
    ],
)
def test_plain_http_to_remote_host_is_refused(url: str) -> None:
    """Plain http to a non-loopback host is refused unless allow_http=True."""
    with pytest.raises(ValueError, match="allow_http"):
        ToplistClient(API_KEY, base_url=url)
    client = ToplistClient(API_KEY, base_url=url, allow_http=True)
    assert url in repr(client)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/v2",
        "http://127.0.0.2/api/v2",
        "http://localhost/api/v2",
        "http://[::1]:9000/api/v2",
        "https://backend.toplistbot.com/api/v2",
        "https://10.0.0.5/api/v2",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    """https anywhere and plain http to loopback need no opt-in."""
    assert url in repr(ToplistClient(API_KEY, base_url=url))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://backend.toplistbot.com/api/v2",
        "ws://127.0.0.1/api/v2",
        "file:///etc/passwd",
        "backend.toplistbot.com/api/v2",
        "https://",
        "",
    ],
)
@pytest.mark.parametrize("allow_http", [False, True])
def test_bad_scheme_is_refused(url: str, allow_http: bool) -> None:
    """A base_url that is not http(s) with a host is refused, allow_http or not."""
    with pytest.raises(ValueError, match="base_url"):
        ToplistClient(API_KEY, base_url=url, allow_http=allow_http)


# --- secret hygiene -------------------------------------------------------------

Call = Callable[[ToplistClient], Awaitable[object]]
Answer = Callable[[web.Request, asyncio.Event], Awaitable[web.StreamResponse]]


def _fixed(response: Callable[[], web.StreamResponse]) -> Answer:
    async def answer(request: web.Request, gate: asyncio.Event) -> web.StreamResponse:
        return response()

    return answer


async def _stall(request: web.Request, gate: asyncio.Event) -> web.StreamResponse:
    await asyncio.wait_for(gate.wait(), 5)
    return _json({})


def _html(status: int, text: str) -> Answer:
    return _fixed(
        lambda: web.Response(status=status, text=text, content_type="text/html")
    )


def _err(status: int, payload: object, headers: dict[str, str] | None = None) -> Answer:
    return _fixed(lambda: web.json_response(payload, status=status, headers=headers))


@dataclass(frozen=True)
class Leak:
    """A call whose answer echoes the key, and what must survive redaction."""

    id: str
    call: Call
    answer: Answer
    raises: type[Exception] | None
    keeps: str = ""


def _add(client: ToplistClient) -> Awaitable[int]:
    return client.add(service=1, link="https://example.com/v", quantity=100)


LEAKS = [
    Leak(
        "services-500-html",
        lambda c: c.services(),
        _html(500, f"<html><h1>Server Error</h1><p>key={API_KEY}</p></html>"),
        InternalServerError,
    ),
    Leak(
        "services-200-challenge",
        lambda c: c.services(),
        _html(200, f"<title>Just a moment...</title><!-- {API_KEY} -->"),
        ResponseValidationError,
    ),
    Leak(
        "balance-401-json",
        lambda c: c.balance(),
        _err(401, {"error": f"Invalid API key {API_KEY}"}),
        AuthenticationError,
        keeps="Invalid API key",
    ),
    Leak(
        "balance-429-json",
        lambda c: c.balance(),
        _err(429, {"error": f"Too many requests for {API_KEY}"}, {"Retry-After": "90"}),
        RateLimitError,
        keeps="Too many requests",
    ),
    Leak(
        "balance-timeout",
        lambda c: c.balance(),
        _stall,
        APITimeoutError,
    ),
    Leak(
        "add-500-html",
        _add,
        _html(500, f"<pre>order for {API_KEY} failed</pre>"),
        OrderOutcomeUnknown,
    ),
    Leak(
        "add-200-funds-error",
        _add,
        _err(200, {"error": f"Not enough funds on {API_KEY}"}),
        InsufficientFundsError,
        keeps="Not enough funds",
    ),
    Leak(
        "add-422-field-errors",
        _add,
        _err(
            422,
            {
                "message": "The given data was invalid.",
                "errors": {"key": [f"The key {API_KEY} is not active."]},
            },
        ),
        BadRequestError,
        keeps="The given data was invalid.",
    ),
    Leak("add-timeout", _add, _stall, OrderOutcomeUnknown),
    Leak(
        "status-per-order-error",
        lambda c: c.status(7),
        _err(200, {"7": {"error": f"Order 7 does not belong to {API_KEY}"}}),
        OrderError,
        keeps="does not belong",
    ),
    Leak(
        "status-403-single-order",
        lambda c: c.status(7),
        _err(403, {"error": f"Forbidden for {API_KEY}"}),
        OrderError,
        keeps="Forbidden",
    ),
    Leak(
        "status_many-mixed",
        lambda c: c.status_many([7, 8]),
        _err(
            200,
            {
                "7": {"status": "Completed", "remains": 0},
                "8": {"error": f"Order 8 is not yours ({API_KEY})"},
            },
        ),
        None,
        keeps="not yours",
    ),
    Leak(
        "cancel-per-order-error",
        lambda c: c.cancel(7),
        _err(200, [{"order": 7, "cancel": {"error": f"{API_KEY} cannot cancel"}}]),
        OrderError,
        keeps="cannot cancel",
    ),
    Leak(
        "cancel_many-mixed",
        lambda c: c.cancel_many([7, 8]),
        _err(
            200,
            [
                {"order": 7, "cancel": 1, "refund": 1.5},
                {"order": 8, "cancel": {"error": f"Denied for {API_KEY}"}},
            ],
        ),
        None,
        keeps="Denied",
    ),
    Leak(
        "balance-302-location",
        lambda c: c.balance(),
        _fixed(
            lambda: web.Response(
                status=302,
                headers={"Location": f"https://login.example/?key={API_KEY}"},
            )
        ),
        APIError,
        keeps="login.example",
    ),
]


def _record_texts(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    for record in caplog.records:
        yield record.getMessage()
        yield repr(record.args)
        if record.exc_info and record.exc_info[1] is not None:
            yield from exception_texts(record.exc_info[1])


@pytest.mark.parametrize("leak", LEAKS, ids=[leak.id for leak in LEAKS])
async def test_key_never_leaks(
    scripted: ScriptedPanel,
    gate: asyncio.Event,
    caplog: pytest.LogCaptureFixture,
    leak: Leak,
) -> None:
    """The key stays out of logs, repr and errors, even when the panel echoes it."""
    caplog.set_level(logging.DEBUG, logger="toplist_async")

    async def handler(request: web.Request, _: dict[str, Any]) -> web.StreamResponse:
        return await leak.answer(request, gate)

    scripted.handler = handler
    texts: list[str] = []
    client = ToplistClient(
        API_KEY, base_url=scripted.base_url, timeout=0.1, max_retries=1
    )
    async with client:
        texts.append(repr(client))
        if leak.raises is None:
            result = await leak.call(client)
            assert isinstance(result, dict)
            errors = [v for v in result.values() if isinstance(v, OrderError)]
            assert errors, "the scenario should yield a per-order error"
            for error in errors:
                texts.extend(exception_texts(error))
        else:
            with pytest.raises(leak.raises) as info:
                await leak.call(client)
            texts.extend(exception_texts(info.value))
        texts.append(repr(client))
    texts.extend(_record_texts(caplog))
    assert caplog.records, "DEBUG logging should have recorded the request"
    assert [text for text in texts if API_KEY in text] == []
    # Redacted, not dropped: the panel's own words are still there.
    assert leak.keeps in "\n".join(texts)


@pytest.mark.parametrize("key", ["sk/live+0123456789==", "tok/abc/def"])
async def test_key_echoed_with_json_escapes_is_redacted(
    scripted: ScriptedPanel, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    """A key echoed JSON-escaped (PHP writes `/` as `\\/`) is still redacted."""
    caplog.set_level(logging.DEBUG, logger="toplist_async")
    escaped = key.replace("/", "\\/")

    async def handler(request: web.Request, _: dict[str, Any]) -> web.Response:
        text = '{"error": "Invalid API key ' + escaped + '"}'
        return web.Response(status=401, text=text, content_type="application/json")

    scripted.handler = handler
    async with ToplistClient(key, base_url=scripted.base_url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.balance()
    texts = [*exception_texts(info.value), *_record_texts(caplog)]
    assert "Invalid API key" in info.value.message
    assert [text for text in texts if key in text] == []


async def test_debug_records_name_action_ids_and_status(
    scripted: ScriptedPanel, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs a DEBUG record with its action, ids count and HTTP status."""
    caplog.set_level(logging.DEBUG, logger="toplist_async")

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        if body["action"] == "services":
            return web.Response(
                status=503, text="<h1>down</h1>", content_type="text/html"
            )
        return _json({str(i): {"status": "Pending"} for i in (11, 12, 13)})

    scripted.handler = handler
    client = ToplistClient(API_KEY, base_url=scripted.base_url, max_retries=0)
    async with client:
        await client.status_many([11, 12, 13])
        with pytest.raises(InternalServerError):
            await client.services()
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("toplist_async") and r.levelno == logging.DEBUG
    ]
    assert any(re.search(r"\bstatus\b.*\b3\b.*\b200\b", m) for m in messages), messages
    assert any(re.search(r"\bservices\b.*\b0\b.*\b503\b", m) for m in messages), (
        messages
    )
