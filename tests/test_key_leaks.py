"""
The key stays out of every error a call can raise, whatever the panel answers.

A hostile server on 127.0.0.1 answers each request with canned bytes (malformed
status lines and headers, cut bodies, echoes of the key in every escaping) or
not at all; each error is then searched, with its whole cause and context chain,
in what error reporters record: `str`, `repr`, `.body`, `.message` and the text
of `traceback.TracebackException(..., capture_locals=True)`.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from aioresponses import aioresponses

from tests._helpers import exception_texts
from toplist_async import OrderError, ToplistClient, ToplistError
from toplist_async._apikey import ApiKey
from toplist_async._transport import Auth, Encoding

KEYS = ['k"e\\y-ключ', 'sk/live"Zq7\\Xw9+ключ=&1']
AUTHS: list[tuple[Auth, Encoding]] = [
    ("body", "json"),
    ("bearer", "json"),
    ("both", "form"),
]


def spellings(key: str) -> set[str]:
    """The key as any text may show it: escaped for JSON, URLs, or by repr()."""
    bases = {
        key,
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
        quote(key, safe=""),
        quote_plus(key),
    }
    bases |= {base.replace("/", "\\/") for base in bases}
    forms = set(bases)
    for base in bases:
        forms.add(repr(base)[1:-1])
        forms.add(repr(base.encode())[2:-1])
    return forms


def all_escaped(key: str) -> str:
    """Every character of the key as a JSON \\u escape, in capitals."""
    return "".join(f"\\u{ord(char):04X}" for char in key)


def leaks(error: BaseException, key: str) -> list[str]:
    """The spellings of `key` found anywhere an error reporter would look."""
    texts = list(exception_texts(error))
    report = traceback.TracebackException.from_exception(error, capture_locals=True)
    texts.append("".join(report.format()))
    found = spellings(key)
    return sorted({form for form in found for text in texts if form in text})


# --- a hostile server -------------------------------------------------------------


@dataclass
class Hostile:
    """Answers every request with `answer(key)`; None stalls until the test ends."""

    url: str = ""
    answer: Callable[[], bytes | None] = lambda: None
    requests: list[bytes] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server_state = Hostile()
    writers: list[asyncio.StreamWriter] = []

    async def on_connect(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writers.append(writer)
        # One request per connection: a cut answer ends with the close.
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            server_state.requests.append(head + await reader.readexactly(length))
            answer = server_state.answer()
            if answer is None:
                await server_state.stop.wait()
            else:
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server_state.url = f"http://127.0.0.1:{port}/api/v2"
    try:
        yield server_state
    finally:
        server_state.stop.set()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


def http(status: str, body: bytes, *headers: str) -> bytes:
    """A well-formed answer: status line, headers, Content-Length, body."""
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def echo_json(status: str, payload: object) -> Callable[[str], bytes]:
    text = json.dumps(payload)
    return lambda key: http(status, text.replace("KEY", json_escaped(key)).encode())


def escaped_error(status: str, escape: Callable[[str], str]) -> Callable[[str], bytes]:
    return lambda key: http(
        status, ('{"error": "Invalid API key ' + escape(key) + '"}').encode()
    )


def json_escaped(key: str) -> str:
    return json.dumps(key)[1:-1]


# Each answer takes the key, to echo it the way that answer would.
ANSWERS: dict[str, Callable[[str], bytes | None]] = {
    "bad-status-line": lambda key: f"HTTX/1.1 200 {key}\r\n\r\n".encode(),
    "bad-header": lambda key: (
        b"HTTP/1.1 200 OK\r\nX-Echo\x01: "
        + key.encode()
        + b"\r\nContent-Length: 2\r\n\r\n{}"
    ),
    "length-and-chunked": lambda key: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    ),
    "cut-body": lambda key: b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n{",
    "bad-gzip": lambda key: http(
        "200 OK", b"\x1f\x8bnot gzip", "Content-Encoding: gzip"
    ),
    "closed-silently": lambda key: b"",
    "stalled": lambda key: None,
    "401-json-escaped": escaped_error("401 Unauthorized", json_escaped),
    "403-all-escaped": escaped_error("403 Forbidden", all_escaped),
    "500-html": lambda key: http("500 Oops", f"<pre>{key}</pre>".encode()),
    "200-html-cut-in-the-key": lambda key: http(
        "200 OK", b"<" + b"p" * 495 + key.encode()
    ),
    "302-location": lambda key: http(
        "302 Found", b"", f"Location: https://login.example/?key={quote_plus(key)}"
    ),
    "422-field-errors": echo_json(
        "422 Unprocessable",
        {"message": "The given data was invalid.", "errors": {"key": ["KEY bad"]}},
    ),
}


def _per_order(status: str, payload: str) -> Callable[[str], bytes]:
    return lambda key: http(status, payload.replace("KEY", json_escaped(key)).encode())


PER_ORDER: dict[str, Callable[[str], bytes]] = {
    "status": _per_order("200 OK", '{"7": {"error": "not yours: KEY"}}'),
    "cancel": _per_order("200 OK", '[{"order": 7, "cancel": {"error": "KEY no"}}]'),
}

Call = Callable[[ToplistClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "services": lambda c: c.services(),
    "balance": lambda c: c.balance(),
    "add": lambda c: c.add(service=1, link="https://example.com/p", quantity=100),
    "status": lambda c: c.status(7),
    "status_many": lambda c: c.status_many([7, 8]),
    "cancel": lambda c: c.cancel(7),
}


def _client(
    url: str, key: str, auth: Auth, encoding: Encoding, timeout: float = 0.05
) -> ToplistClient:
    """A client that gives up on a stalled answer soon; the others come at once."""
    return ToplistClient(
        key, base_url=url, auth=auth, encoding=encoding, timeout=timeout, max_retries=1
    )


async def _error_of(call: Awaitable[object]) -> BaseException:
    try:
        result = await call
    except (ToplistError, TimeoutError) as exc:
        return exc
    errors = [v for v in result.values() if isinstance(v, OrderError)]  # type: ignore[attr-defined]
    assert errors, f"expected an error, got {result!r}"
    return errors[0]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(("auth", "encoding"), AUTHS)
@pytest.mark.parametrize("answer", ANSWERS, ids=ANSWERS.keys())
async def test_no_error_shows_the_key(
    hostile: Hostile, key: str, auth: Auth, encoding: Encoding, answer: str
) -> None:
    """Every call's error, its chain and its frames' locals are free of the key."""
    hostile.answer = lambda: ANSWERS[answer](key)
    async with _client(hostile.url, key, auth, encoding) as client:
        for name, call in CALLS.items():
            error = await _error_of(call(client))
            assert leaks(error, key) == [], (name, error)
    assert hostile.requests, "the server should have been asked"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("action", PER_ORDER)
async def test_per_order_errors_echoing_the_escaped_key_are_redacted(
    hostile: Hostile, key: str, action: str
) -> None:
    """A refused order whose message echoes the key JSON-escaped shows `***`."""
    hostile.answer = lambda: PER_ORDER[action](key)
    async with _client(hostile.url, key, "body", "json", timeout=10) as client:
        error = await _error_of(getattr(client, action)(7))
    assert isinstance(error, OrderError)
    assert "***" in error.message
    assert leaks(error, key) == []


@pytest.mark.parametrize("key", KEYS)
async def test_a_caller_timeout_around_a_request_shows_no_key(
    hostile: Hostile, key: str
) -> None:
    """`asyncio.timeout()` cancels inside aiohttp: its frames are cleared too."""

    async def add_within_50_ms(client: ToplistClient) -> object:
        async with asyncio.timeout(0.05):
            return await CALLS["add"](client)

    # Caught in a helper's frame: this test's own locals hold the request.
    async with ToplistClient(key, base_url=hostile.url, auth="both") as client:
        error = await _error_of(add_within_50_ms(client))
    assert isinstance(error, TimeoutError)
    assert leaks(error, key) == []


@pytest.mark.parametrize("key", KEYS)
async def test_a_field_that_cannot_be_encoded_shows_no_key(
    hostile: Hostile, key: str
) -> None:
    """The body encoder's frame, which holds the key, is cleared."""

    async def add_unencodable(client: ToplistClient) -> object:
        try:
            return await client.add(service=1, link="https://e.example", x=object())
        except TypeError as exc:
            return exc

    async with ToplistClient(key, base_url=hostile.url) as client:
        error = await add_unencodable(client)
    assert isinstance(error, TypeError)
    assert leaks(error, key) == []
    assert hostile.requests == []


@pytest.mark.parametrize("key", KEYS)
async def test_an_aiohttp_failure_under_aioresponses_shows_no_key(key: str) -> None:
    """A mocked disconnect after sending: `OrderOutcomeUnknown`, keyless chain."""
    url = "https://panel.example/api/v2"
    with aioresponses() as mocked:
        mocked.post(url, exception=aiohttp.ServerDisconnectedError())
        async with ToplistClient(key, base_url=url, auth="both") as client:
            error = await _error_of(CALLS["add"](client))
    assert "ServerDisconnectedError" in str(error)
    assert leaks(error, key) == []


@pytest.mark.parametrize(
    "answer", ["bad-status-line", "bad-header", "length-and-chunked"]
)
async def test_a_malformed_answer_keeps_its_diagnosis_as_text(
    hostile: Hostile, answer: str
) -> None:
    """What aiohttp said about the answer is in the message, not a keyed cause."""
    key = KEYS[0]
    hostile.answer = lambda: ANSWERS[answer](key)
    async with _client(hostile.url, key, "bearer", "json", timeout=10) as client:
        error = await _error_of(client.balance())
    assert "ClientResponseError" in str(error) or "ClientPayloadError" in str(error)
    assert "Bearer" not in repr(error.__cause__)
    assert leaks(error, key) == []


@pytest.mark.parametrize("key", ["sk-live\n", "sk-\rlive-0123", "sk\tlive-0123"])
def test_a_key_with_a_control_character_is_refused(key: str) -> None:
    """A key read from a file with its newline fails at once, and says why."""
    with pytest.raises(ValueError, match="control character") as info:
        ToplistClient(key)
    assert key not in str(info.value)


@pytest.mark.parametrize("key", KEYS)
def test_an_answer_nested_deeper_than_the_stack_is_scrubbed(key: str) -> None:
    """No RecursionError: the walk over a decoded answer keeps its own stack."""
    leaf: list[object] = [{key: f"is {key}"}]
    answer: list[object] = leaf
    for _ in range(20_000):
        answer = [answer]
    scrubbed = ApiKey(key).scrub(answer)
    assert leaf == [{"***": "is ***"}]
    assert scrubbed is answer


@pytest.mark.parametrize("key", KEYS)
def test_an_answer_without_the_key_is_left_as_it_is(key: str) -> None:
    """Backslashes that spell no key (PHP's `\\/`) change nothing."""
    answer = {"name": "IG https://x/y", "n": [1, "two"]}
    assert ApiKey(key).scrub(answer) == {"name": "IG https://x/y", "n": [1, "two"]}
