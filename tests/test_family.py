"""Answers of the other panels of the API v2 family, read the way they mean them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from tests._helpers import respond
from tests.conftest import ScriptedPanel
from toplist_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CancelResult,
    CDNBlockedError,
    InsufficientFundsError,
    OrderError,
    OrderState,
    OrderStatus,
    ResponseValidationError,
    ToplistClient,
)
from toplist_async.cli import main

LINK = "https://example.com/post/1"
OAUTH_STYLE_FUNDS = (
    b'{"error": "insufficient_balance", "error_description": "The user doesn\'t '
    b'have sufficient balance.", "message": "Your balance is too low."}'
)
ERROR_ENVELOPE = b'{"status": "error", "message": "Invalid Interval in minutes"}'
CLOUDFLARE_1020 = b"error code: 1020"
CLOUDFLARE_CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<h2>Checking if the site connection is secure</h2></body></html>"
)


# --- section 2: errors that were taken for data ------------------------------


async def test_error_with_extra_keys_is_an_error_on_add(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """An `error` string beside keys that are no data of `add` is a funds error,
    not an unknown outcome."""
    scripted.handler = respond(OAUTH_STYLE_FUNDS)
    with pytest.raises(InsufficientFundsError) as caught:
        await client.add(service=1, link=LINK, quantity=100)
    assert "insufficient_balance" in caught.value.message
    assert "sufficient balance" in caught.value.message
    assert caught.value.status_code == 200


CALLS: dict[str, Callable[[ToplistClient], Awaitable[object]]] = {
    "add": lambda c: c.add(service=1, link=LINK, quantity=100),
    "services": lambda c: c.services(),
    "balance": lambda c: c.balance(),
}


@pytest.mark.parametrize("call", list(CALLS))
async def test_status_error_envelope_is_an_error(
    scripted: ScriptedPanel, client: ToplistClient, call: str
) -> None:
    """`{"status": "error", "message": ...}` is classified by its message."""
    scripted.handler = respond(ERROR_ENVELOPE)
    with pytest.raises(BadRequestError) as caught:
        await CALLS[call](client)
    assert caught.value.message == "Invalid Interval in minutes"


async def test_status_error_envelope_with_funds_words(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"status": "error", "message": "Not enough funds"}')
    with pytest.raises(InsufficientFundsError):
        await client.add(service=1, link=LINK, quantity=100)


@pytest.mark.parametrize(
    ("raw", "http", "expected"),
    [
        pytest.param(
            b'{"error": "API is Disable for this user or User Not Found!"}',
            200,
            AuthenticationError,
            id="api-disabled",
        ),
        pytest.param(
            b'{"error": "Balance not enough !"}', 200, InsufficientFundsError, id="200"
        ),
        pytest.param(
            b'{"error": "Balance not enough !"}', 401, InsufficientFundsError, id="401"
        ),
    ],
)
async def test_panel_wordings(
    scripted: ScriptedPanel,
    client: ToplistClient,
    raw: bytes,
    http: int,
    expected: type[APIError],
) -> None:
    scripted.handler = respond(raw, status=http)
    with pytest.raises(APIError) as caught:
        await client.add(service=1, link=LINK, quantity=100)
    assert type(caught.value) is expected


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        pytest.param(CLOUDFLARE_1020, "text/plain; charset=UTF-8", id="1020"),
        pytest.param(CLOUDFLARE_CHALLENGE, "text/html; charset=UTF-8", id="html"),
    ],
)
async def test_cdn_refusal_is_not_an_authentication_error(
    scripted: ScriptedPanel, client: ToplistClient, raw: bytes, content_type: str
) -> None:
    """A 403 page that is not JSON comes from a CDN: the key was never checked."""
    scripted.handler = respond(raw, status=403, content_type=content_type)
    with pytest.raises(CDNBlockedError) as caught:
        await client.balance()
    exc = caught.value
    assert not isinstance(exc, AuthenticationError)
    assert "CDN" in str(exc)
    assert "key was never checked" in str(exc)
    assert exc.status_code == 403
    assert len(scripted.received) == 1


async def test_json_403_is_still_an_authentication_error(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    denied = b'{"message": "This action is unauthorized."}'
    scripted.handler = respond(denied, status=403)
    with pytest.raises(AuthenticationError):
        await client.balance()


# --- section 2: success answers in other shapes ------------------------------


async def test_multi_status_as_a_list(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'[{"order": 501, "status": "completed", "charge": "0.90", "start_count": '
        b'"100", "remains": "0", "currency": "USD"}, {"order": 502, "status": '
        b'"In progress", "charge": "0.45", "start_count": "7", "remains": "50", '
        b'"currency": "USD"}, {"order": "503", "error": "Incorrect order ID"}]'
    )
    outcomes = await client.status_many([501, 502, 503])
    first, second, third = outcomes[501], outcomes[502], outcomes[503]
    assert isinstance(first, OrderStatus)
    assert (first.status, first.charge, first.remains) == (
        OrderState.COMPLETED,
        Decimal("0.90"),
        0,
    )
    assert isinstance(second, OrderStatus)
    assert (second.status, second.remains) == (OrderState.IN_PROGRESS, 50)
    assert isinstance(third, OrderError)
    assert third.message == "Incorrect order ID"


async def test_success_envelope_is_unwrapped(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'{"status": "success", "data": {"balance": "12.50", "currency": "USD"}}'
    )
    balance = await client.balance()
    assert balance.balance == Decimal("12.50")


async def test_success_envelope_around_a_catalogue(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'{"status": "success", "data": [{"service": 7, "name": "Likes", "type": '
        b'"Default", "category": "c", "rate": "0.5", "min": "10", "max": "100"}]}'
    )
    [service] = await client.services()
    assert service.service == 7


async def test_empty_data_catalogue_is_an_empty_list(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"status": "success", "data": "Empty Data"}')
    assert await client.services() == []


async def test_one_unreadable_service_does_not_hide_the_others(
    scripted: ScriptedPanel,
    client: ToplistClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry with an ambiguous `max` is left out with a warning; the rest stay."""
    scripted.handler = respond(
        b'[{"service": 1, "name": "a", "type": "Default", "category": "c", '
        b'"rate": "0.9", "min": "10", "max": "50.000"}, {"service": 2, "name": "b", '
        b'"type": "Default", "category": "c", "rate": "1.1", "min": "10", '
        b'"max": "5000"}]'
    )
    with caplog.at_level(logging.WARNING, logger="toplist_async"):
        services = await client.services()
    assert [s.service for s in services] == [2]
    [record] = [r for r in caplog.records if r.name == "toplist_async"]
    assert record.levelno == logging.WARNING
    assert "service 1" in record.getMessage()
    assert "max" in record.getMessage()
    assert "50.000" in record.getMessage()


async def test_a_catalogue_of_only_unreadable_services_is_refused(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'[{"service": 1, "name": "a", "type": "Default", "category": "c", '
        b'"rate": "0.9", "min": "10", "max": "50.000"}]'
    )
    with pytest.raises(ResponseValidationError):
        await client.services()


# --- section 3: per-order answers --------------------------------------------


async def test_bare_string_per_order_error_keeps_the_panels_text(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'{"987654": "Incorrect order ID", "5": {"status": "Pending"}}'
    )
    outcomes = await client.status_many([987654, 5])
    refused = outcomes[987654]
    assert isinstance(refused, OrderError)
    assert refused.message == "Incorrect order ID"
    assert isinstance(outcomes[5], OrderStatus)


@pytest.mark.parametrize(
    ("cancel", "refund", "status"),
    [
        pytest.param(b'{"status": "Canceled"}', None, "Canceled", id="status-object"),
        pytest.param(b'{"refund": "1.25"}', Decimal("1.25"), None, id="refund-object"),
        pytest.param(b"1", None, None, id="one"),
        pytest.param(b"true", None, None, id="true"),
    ],
)
async def test_cancel_success_forms(
    scripted: ScriptedPanel,
    client: ToplistClient,
    cancel: bytes,
    refund: Decimal | None,
    status: str | None,
) -> None:
    """Only a cancel carrying an `error` is refused; the others keep what they say."""
    scripted.handler = respond(b'[{"cancel": ' + cancel + b', "order": "4"}]')
    result = await client.cancel(4)
    assert result == CancelResult(order_id=4, refund=refund, status=status)


async def test_cancel_error_object_is_still_refused(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'[{"order": 9, "cancel": {"error": "Incorrect order ID"}}]'
    )
    with pytest.raises(OrderError) as caught:
        await client.cancel(9)
    assert caught.value.message == "Incorrect order ID"


async def test_cli_says_the_cdn_refused_not_the_key(
    scripted: ScriptedPanel, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted.handler = respond(CLOUDFLARE_1020, status=403, content_type="text/plain")
    argv = ["--base-url", scripted.base_url, "--api-key", "k" * 32, "balance"]
    code = await asyncio.to_thread(main, argv)
    err = capsys.readouterr().err
    assert code == 1
    assert "CDN refused the request" in err
    assert "API key was never checked" in err
    assert "--api-key" not in err
