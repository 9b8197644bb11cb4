"""From an HTTP status, body and headers to the exception a call raises."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

import toplist_async
from tests._helpers import respond
from tests.conftest import ScriptedPanel
from toplist_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InsufficientFundsError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
    ToplistClient,
    ToplistError,
    _exceptions,
)

JSON = "application/json"
HTML = "text/html; charset=UTF-8"
CLOUDFLARE_502 = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare"
    b"</center></body></html>\n"
)
MAINTENANCE = b"<html><body><h1>Service Unavailable</h1>Be right back.</body></html>"
LARAVEL_422 = (
    b'{"message": "The given data was invalid.", "errors": {"action": '
    b'["The action field is required."], "orders": ["The orders field is required.",'
    b' "The orders must be a string."]}}'
)
SPEC_VALIDATION = b'{ "errors": { "action": [ "The action field is required." ] } }'


def assert_one_line(exc: BaseException) -> None:
    """`str(exc)` is a short, non-empty single line."""
    text = str(exc)
    assert text
    assert "\n" not in text
    assert text == text.strip()
    assert len(text) <= 200


# (HTTP status, body, content type, extra headers, class, expected attributes)
CASES: list[Any] = [
    pytest.param(
        200,
        b'{"error": "Invalid API key"}',
        JSON,
        {},
        AuthenticationError,
        {"status_code": 200, "message": "Invalid API key"},
        id="200-invalid-api-key",
    ),
    pytest.param(
        200,
        b'{"error": "Not enough funds"}',
        JSON,
        {},
        InsufficientFundsError,
        {"status_code": 200, "message": "Not enough funds"},
        id="200-not-enough-funds",
    ),
    pytest.param(
        200,
        b'{"error": "Insufficient balance"}',
        JSON,
        {},
        InsufficientFundsError,
        {"message": "Insufficient balance"},
        id="200-insufficient-balance",
    ),
    pytest.param(
        200,
        b'{"error": "Insuffcient Funds"}',
        JSON,
        {},
        InsufficientFundsError,
        {"message": "Insuffcient Funds"},
        id="200-insuffcient-funds-sic",
    ),
    pytest.param(
        200,
        b'{"error": "Incorrect service ID"}',
        JSON,
        {},
        BadRequestError,
        {"status_code": 200, "message": "Incorrect service ID", "errors": {}},
        id="200-incorrect-service-id",
    ),
    pytest.param(
        200,
        b'{"error": {"message": "Service Not Active"}}',
        JSON,
        {},
        BadRequestError,
        {"message": "Service Not Active"},
        id="200-error-object",
    ),
    pytest.param(
        200,
        SPEC_VALIDATION,
        JSON,
        {},
        BadRequestError,
        {
            "status_code": 200,
            "message": "The action field is required.",
            "errors": {"action": ["The action field is required."]},
        },
        id="200-laravel-errors",
    ),
    pytest.param(
        401,
        b'{"message": "Unauthenticated."}',
        JSON,
        {},
        AuthenticationError,
        {"status_code": 401, "message": "Unauthenticated."},
        id="401-unauthenticated",
    ),
    pytest.param(
        403,
        b'{ "error": "Unauthorized access to order status" }',
        JSON,
        {},
        AuthenticationError,
        {"status_code": 403, "message": "Unauthorized access to order status"},
        id="403-unauthorized-access",
    ),
    pytest.param(
        403,
        b'{"error": "Account suspended"}',
        JSON,
        {},
        AuthenticationError,
        {"status_code": 403, "message": "Account suspended"},
        id="403-suspended",
    ),
    pytest.param(
        422,
        LARAVEL_422,
        JSON,
        {},
        BadRequestError,
        {
            "status_code": 422,
            "message": "The given data was invalid.",
            "errors": {
                "action": ["The action field is required."],
                "orders": [
                    "The orders field is required.",
                    "The orders must be a string.",
                ],
            },
        },
        id="422-laravel-message-and-errors",
    ),
    pytest.param(
        422,
        SPEC_VALIDATION,
        JSON,
        {},
        BadRequestError,
        {
            "status_code": 422,
            "message": "The action field is required.",
            "errors": {"action": ["The action field is required."]},
        },
        id="422-spec-errors-only",
    ),
    pytest.param(
        400,
        b'{ "error": "Invalid action" }',
        JSON,
        {},
        BadRequestError,
        {"status_code": 400, "message": "Invalid action", "errors": {}},
        id="400-invalid-action",
    ),
    pytest.param(
        400,
        b'{"error": "Missing required parameter: service"}',
        JSON,
        {},
        BadRequestError,
        {"status_code": 400, "message": "Missing required parameter: service"},
        id="400-missing-parameter",
    ),
    pytest.param(
        429,
        b'{"message": "Too Many Attempts."}',
        JSON,
        {"Retry-After": "30", "X-RateLimit-Reset": str(int(time.time()) + 999)},
        RateLimitError,
        {"status_code": 429, "message": "Too Many Attempts.", "retry_after": 30.0},
        id="429-retry-after-seconds",
    ),
    pytest.param(
        429,
        b'{"message": "Too Many Attempts."}',
        JSON,
        {"Retry-After": "0"},
        RateLimitError,
        {"retry_after": 0.0},
        id="429-retry-after-zero",
    ),
    pytest.param(
        429,
        b"Too Many Attempts.",
        "text/plain",
        {},
        RateLimitError,
        {"status_code": 429, "retry_after": None, "body": "Too Many Attempts."},
        id="429-plain-text",
    ),
    pytest.param(
        429,
        b"Too Many Attempts.",
        "text/plain",
        {"Retry-After": "soon"},
        RateLimitError,
        {"status_code": 429, "retry_after": None},
        id="429-unreadable-retry-after",
    ),
    pytest.param(
        200,
        b'{"error": "Spam protection, wait 7 seconds"}',
        JSON,
        {},
        RateLimitError,
        {
            "status_code": 200,
            "message": "Spam protection, wait 7 seconds",
            "retry_after": 7.0,
        },
        id="200-spam-protection-wait-7",
    ),
    pytest.param(
        200,
        b'{"error": "Rate limit exceeded. Slow down."}',
        JSON,
        {},
        RateLimitError,
        {"status_code": 200, "retry_after": None},
        id="200-rate-limit-exceeded",
    ),
    pytest.param(
        500,
        b"<html><body>Whoops, looks like something went wrong.</body></html>",
        HTML,
        {},
        InternalServerError,
        {"status_code": 500},
        id="500-html",
    ),
    pytest.param(
        500,
        b'{"message": "Server Error"}',
        JSON,
        {},
        InternalServerError,
        {"status_code": 500, "message": "Server Error"},
        id="500-laravel-json",
    ),
    pytest.param(
        502,
        CLOUDFLARE_502,
        HTML,
        {},
        InternalServerError,
        {"status_code": 502},
        id="502-cloudflare-html",
    ),
    pytest.param(
        503,
        MAINTENANCE,
        HTML,
        {},
        InternalServerError,
        {"status_code": 503},
        id="503-maintenance-html",
    ),
    pytest.param(
        404,
        b"<html><body>Not Found</body></html>",
        HTML,
        {},
        APIError,
        {"status_code": 404},
        id="404-html",
    ),
    pytest.param(
        405,
        b'{"message": "The GET method is not supported for route api/v2. '
        b'Supported methods: POST."}',
        JSON,
        {},
        APIError,
        {"status_code": 405},
        id="405-method-not-allowed",
    ),
    pytest.param(
        200,
        b"<!DOCTYPE html><html><title>Just a moment...</title></html>",
        HTML,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": True},
        id="200-html-challenge",
    ),
    pytest.param(
        200,
        b"",
        None,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": True},
        id="200-empty",
    ),
    pytest.param(
        200,
        b'{"balance": 100.0, "curr',
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": True},
        id="200-truncated-json",
    ),
    pytest.param(
        200,
        b"[1,2]",
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": False},
        id="200-wrong-shape-list",
    ),
    pytest.param(
        200,
        b'{"balance": "lots", "currency": "USD"}',
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": False},
        id="200-wrong-shape-balance",
    ),
    pytest.param(
        200,
        b'{"error": ""}',
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": False},
        id="200-error-empty-string",
    ),
    pytest.param(
        200,
        b'{"error": null}',
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": False},
        id="200-error-null",
    ),
    pytest.param(
        200,
        b'{"error": false}',
        JSON,
        {},
        ResponseValidationError,
        {"status_code": 200, "not_json": False},
        id="200-error-false",
    ),
]


@pytest.mark.parametrize(
    ("status", "raw", "content_type", "headers", "expected", "attributes"), CASES
)
async def test_answer_is_classified(
    scripted: ScriptedPanel,
    client: ToplistClient,
    sleeps: list[float],
    status: int,
    raw: bytes,
    content_type: str | None,
    headers: dict[str, str],
    expected: type[ToplistError],
    attributes: dict[str, object],
) -> None:
    """Each (status, body, headers) answer to `balance()` raises its exact class
    with the panel's details."""
    scripted.handler = respond(
        raw, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(ToplistError) as caught:
        await client.balance()
    exc = caught.value
    assert type(exc) is expected
    for name, value in attributes.items():
        assert getattr(exc, name) == value, name
    assert_one_line(exc)
    assert len(scripted.received) == 1
    assert sleeps == []


def _http_date_in(seconds: float) -> dict[str, str]:
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return {"Retry-After": format_datetime(when, usegmt=True)}


def _reset_in(seconds: int) -> dict[str, str]:
    return {"X-RateLimit-Reset": str(int(time.time()) + seconds)}


@pytest.mark.parametrize(
    ("make_headers", "low", "high"),
    [
        pytest.param(
            lambda: _http_date_in(120), 100.0, 121.0, id="retry-after-http-date"
        ),
        pytest.param(
            lambda: {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
            0.0,
            0.0,
            id="retry-after-date-in-the-past",
        ),
        pytest.param(lambda: _reset_in(42), 30.0, 42.0, id="x-ratelimit-reset"),
    ],
)
async def test_rate_limit_wait_from_headers(
    scripted: ScriptedPanel,
    client: ToplistClient,
    make_headers: Callable[[], dict[str, str]],
    low: float,
    high: float,
) -> None:
    """A 429's wait is read from an HTTP-date `Retry-After` or `X-RateLimit-Reset`."""
    # Built when the test runs, not when it is collected: the suite takes time.
    scripted.handler = respond(
        b'{"message": "Too Many Attempts."}', status=429, headers=make_headers()
    )
    with pytest.raises(RateLimitError) as caught:
        await client.balance()
    retry_after = caught.value.retry_after
    assert retry_after is not None
    assert low <= retry_after <= high


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_keeps_an_excerpt_of_the_page(
    scripted: ScriptedPanel, client: ToplistClient, status: int
) -> None:
    """A 5xx HTML page is an InternalServerError whose `body` is the page's text."""
    scripted.handler = respond(CLOUDFLARE_502, status=status, content_type=HTML)
    with pytest.raises(InternalServerError) as caught:
        await client.balance()
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, str)
    assert "502 Bad Gateway" in caught.value.body


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_an_error_and_not_followed(
    scripted: ScriptedPanel, client: ToplistClient, status: int
) -> None:
    """A redirect raises APIError naming its target; the target is never asked."""
    target = scripted.base_url + "/moved"

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        if request.path.endswith("/moved"):
            return web.json_response({"balance": 1, "currency": "USD"})
        return web.Response(status=status, headers={"Location": target})

    scripted.handler = handler
    with pytest.raises(APIError) as caught:
        await client.balance()
    exc = caught.value
    assert type(exc) is APIError
    assert exc.status_code == status
    assert "redirect" in str(exc)
    assert target in str(exc)
    assert_one_line(exc)
    assert len(scripted.received) == 1


async def test_error_beside_data_is_not_an_error(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`{"error": "x", "balance": 1, ...}` is a success: the error is not the whole
    answer."""
    scripted.handler = respond(b'{"error": "x", "balance": 1, "currency": "USD"}')
    balance = await client.balance()
    assert balance.balance == Decimal(1)
    assert balance.currency == "USD"


def _documented_tree() -> dict[str, str | None]:
    """Each class named in `_exceptions`' docstring, mapped to its parent there."""
    assert _exceptions.__doc__ is not None
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in _exceptions.__doc__.splitlines():
        found = re.match(r"( *)\* (\w+)", line)
        if found is None:
            continue
        indent, name = len(found.group(1)), found.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((indent, name))
    return parents


def test_documented_tree_names_every_exception() -> None:
    """The docstring's tree lists exactly the exception classes the module exports."""
    assert set(_documented_tree()) == set(_exceptions.__all__)


@pytest.mark.parametrize("name", sorted(_documented_tree()))
def test_hierarchy_matches_the_docstring(name: str) -> None:
    """Each exception's package base class is the parent the docstring draws."""
    cls = getattr(toplist_async, name)
    parent = _documented_tree()[name]
    if parent is None:
        assert cls is ToplistError
        assert cls.__bases__ == (Exception,)
    else:
        own_bases = [base for base in cls.__bases__ if issubclass(base, ToplistError)]
        assert own_bases == [getattr(toplist_async, parent)]


@pytest.mark.parametrize("name", sorted(_exceptions.__all__))
def test_exceptions_live_in_the_public_module(name: str) -> None:
    """Tracebacks name `toplist_async.X`, not the private module."""
    cls = getattr(toplist_async, name)
    assert cls is getattr(_exceptions, name)
    assert cls.__module__ == "toplist_async"
    assert issubclass(cls, ToplistError)


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"X-RateLimit-Reset": "30"}, "", 30.0),
        ({}, "Spam protection, wait 7 seconds", 7.0),
        ({}, "Please retry in 2.5 s", 2.5),
        ({}, "Limit is 60 per 60 seconds", None),
        ({}, "Too Many Attempts.", None),
    ],
    ids=["reset-as-seconds", "wait-words", "retry-in", "a-limit-not-a-wait", "none"],
)
def test_retry_after_reading(
    headers: dict[str, str], message: str, expected: float | None
) -> None:
    """A wait is read from a delta X-RateLimit-Reset or from words asking to wait."""
    from toplist_async._classifier import retry_after_seconds

    assert retry_after_seconds(headers, message) == expected
