"""API errors, authentication, foreign orders and the rate limit."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from .conftest import KEY, Api, Serve

Case = tuple[dict[str, Any], int, Any, str]


def _required(name: str) -> str:
    return f"The {name} field is required."


# (request, HTTP status, body, the message errors_with_200 sends)
CASES: dict[str, Case] = {
    "no key": (
        {"action": "balance", "key": None},
        401,
        {"message": "Unauthenticated."},
        "Unauthenticated.",
    ),
    "empty key": (
        {"action": "balance", "key": ""},
        401,
        {"message": "Unauthenticated."},
        "Unauthenticated.",
    ),
    "unknown action": (
        {"action": "refill_everything"},
        400,
        {"error": "Invalid action"},
        "Invalid action",
    ),
    "no action": (
        {},
        422,
        {"errors": {"action": [_required("action")]}},
        _required("action"),
    ),
    "add without link": (
        {"action": "add", "service": 1, "quantity": 100},
        422,
        {"message": _required("link"), "errors": {"link": [_required("link")]}},
        _required("link"),
    ),
    "add with nothing": (
        {"action": "add"},
        422,
        {
            "message": f"{_required('service')} (and 2 more errors)",
            "errors": {
                "service": [_required("service")],
                "link": [_required("link")],
                "quantity": [_required("quantity")],
            },
        },
        _required("service"),
    ),
    "add with a word for quantity": (
        {"action": "add", "service": 1, "link": "x", "quantity": "lots"},
        422,
        {
            "message": "The quantity field must be an integer.",
            "errors": {"quantity": ["The quantity field must be an integer."]},
        },
        "The quantity field must be an integer.",
    ),
    "unknown service": (
        {"action": "add", "service": 99, "link": "x", "quantity": 100},
        400,
        {"error": "Incorrect service ID"},
        "Incorrect service ID",
    ),
    "quantity below min": (
        {"action": "add", "service": 1, "link": "x", "quantity": 9},
        400,
        {"error": "Quantity should be within min quantity to max quantity"},
        "Quantity should be within min quantity to max quantity",
    ),
    "quantity above max": (
        {"action": "add", "service": 1, "link": "x", "quantity": "50001"},
        400,
        {"error": "Quantity should be within min quantity to max quantity"},
        "Quantity should be within min quantity to max quantity",
    ),
    "not enough funds": (
        {"action": "add", "service": 1, "link": "x", "quantity": 50000},
        400,
        {"error": "Not enough funds"},
        "Not enough funds",
    ),
    "status without orders": (
        {"action": "status"},
        422,
        {"message": _required("orders"), "errors": {"orders": [_required("orders")]}},
        _required("orders"),
    ),
    "status with 101 ids": (
        {"action": "status", "orders": ",".join(map(str, range(1, 102)))},
        422,
        {
            "message": "The orders may not have more than 100 items.",
            "errors": {"orders": ["The orders may not have more than 100 items."]},
        },
        "The orders may not have more than 100 items.",
    ),
    "cancel without orders": (
        {"action": "cancel", "orders": ""},
        422,
        {"message": _required("orders"), "errors": {"orders": [_required("orders")]}},
        _required("orders"),
    ),
}


async def _send(api: Api, request: dict[str, Any], form: bool) -> Any:
    fields = dict(request)
    key = fields.pop("key", KEY)
    action = fields.pop("action", None)
    return await api.call(action, key=key, form=form, **fields)


@pytest.mark.parametrize("form", [False, True])
@pytest.mark.parametrize("name", CASES)
async def test_api_error(serve: Serve, name: str, form: bool) -> None:
    """Each API error answers its HTTP status and Laravel/panel body."""
    request, status, body, _ = CASES[name]
    _, api = await serve(balance=Decimal("100"))
    answer = await _send(api, request, form)
    assert (answer.status, answer.body) == (status, body)


@pytest.mark.parametrize("name", CASES)
async def test_api_error_with_200(serve: Serve, name: str) -> None:
    """With errors_with_200 every API error is HTTP 200 and `{"error": ...}`."""
    request, _, _, message = CASES[name]
    _, api = await serve(balance=Decimal("100"), errors_with_200=True)
    answer = await _send(api, request, form=False)
    assert (answer.status, answer.body) == (200, {"error": message})


async def test_valid_numeric_strings_are_accepted(serve: Serve) -> None:
    """Form clients send every field as a string; that is not an error."""
    _, api = await serve()
    answer = await api.call("add", form=True, service="1", link="x", quantity="100")
    assert answer.body == {"order_id": 1}


async def test_routing_errors(serve: Serve) -> None:
    """GET is 405 and other paths 404, as JSON, even with errors_with_200."""
    panel, api = await serve(errors_with_200=True)
    async with api.session.get(api.url) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert await response.json() == {
            "message": "The GET method is not supported for this route."
        }
    async with api.session.post(api.url.replace("/api/v2", "/api/v1")) as response:
        assert response.status == 404
        assert await response.json() == {
            "message": "The route api/v1 could not be found."
        }
    assert [r.status for r in panel.requests] == [405, 404]


async def test_a_set_api_key_rejects_every_other_key(serve: Serve) -> None:
    """With api_key only that key gets in, in the body or as a bearer token."""
    _, api = await serve(api_key="the-one")
    assert (await api.call("balance", key="the-one")).status == 200
    assert (await api.call("balance", key="the-one", bearer=True)).status == 200
    for key in (KEY, "the-one ", "THE-ONE"):
        answer = await api.call("balance", key=key)
        assert (answer.status, answer.body) == (401, {"message": "Unauthenticated."})
    async with api.session.post(
        api.url, json={"action": "balance"}, headers={"Authorization": "Basic the-one"}
    ) as response:
        assert response.status == 401


async def test_foreign_id_fails_the_whole_status_request(serve: Serve) -> None:
    """By default another account's id makes status answer 403 for all ids."""
    _, api = await serve()
    mine = await api.add()
    theirs = (await api.call("add", key="other", service=1, link="x", quantity=10)).body
    answer = await api.call("status", orders=f"{mine},{theirs['order_id']}")
    assert (answer.status, answer.body) == (
        403,
        {"error": "Unauthorized access to order status"},
    )
    assert (await api.call("status", orders=f"{mine},777")).status == 200


async def test_foreign_id_per_order(serve: Serve) -> None:
    """In per_order mode another account's id looks like an unknown id."""
    _, api = await serve(foreign_order_mode="per_order")
    mine = await api.add()
    theirs = (await api.call("add", key="other", service=1, link="x", quantity=10)).body
    answer = await api.call("status", orders=f"{mine},{theirs['order_id']}")
    assert answer.status == 200
    assert answer.body[str(theirs["order_id"])] == {"error": "Incorrect order ID"}
    assert answer.body[str(mine)]["status"] == "pending"


async def test_rate_limit(serve: Serve) -> None:
    """Past rate_limit requests a minute a key gets 429 with Laravel's headers."""
    _, api = await serve(rate_limit=3)
    remaining = []
    for _ in range(3):
        answer = await api.call("balance")
        assert answer.status == 200
        assert answer.headers["X-RateLimit-Limit"] == "3"
        remaining.append(answer.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = await api.call("balance")
    assert (refused.status, refused.body) == (429, {"message": "Too Many Attempts."})
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert abs(reset - (time.time() + retry_after)) <= 2
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    other = await api.call("balance", key="another-key")
    assert other.status == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"


async def test_no_rate_limit_headers_by_default(serve: Serve) -> None:
    """Without rate_limit nothing is throttled and no headers are sent."""
    _, api = await serve()
    for _ in range(5):
        answer = await api.call("balance")
        assert answer.status == 200
        assert "X-RateLimit-Limit" not in answer.headers
