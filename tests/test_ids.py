"""Order ids and `add` fields are checked and shaped before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import CancelResult, OrderStatus, ToplistClient


async def panel(request: web.Request, body: dict[str, Any]) -> web.Response:
    """Answer status and cancel for every id asked, and add with order 99."""
    if body.get("action") == "add":
        return web.json_response({"order": 99})
    ids = str(body["orders"]).split(",")
    if body.get("action") == "cancel":
        return web.json_response([{"order": i, "cancel": 1} for i in ids])
    return web.json_response({i: {"status": "Completed", "remains": 0} for i in ids})


@pytest.fixture
def client(scripted: ScriptedPanel, client: ToplistClient) -> ToplistClient:
    """The shared client, on a panel that answers every id."""
    scripted.handler = panel
    return client


def sent_orders(scripted: ScriptedPanel) -> list[str]:
    return [str(body["orders"]) for body in scripted.received]


Call = Callable[[ToplistClient, Any], Awaitable[object]]


def status(client: ToplistClient, value: Any) -> Awaitable[object]:
    return client.status(value)


def cancel(client: ToplistClient, value: Any) -> Awaitable[object]:
    return client.cancel(value)


def status_many(client: ToplistClient, value: Any) -> Awaitable[object]:
    return client.status_many(value)


def cancel_many(client: ToplistClient, value: Any) -> Awaitable[object]:
    return client.cancel_many(value)


SINGLE = [pytest.param(status, id="status"), pytest.param(cancel, id="cancel")]
MANY = [
    pytest.param(status_many, id="status_many"),
    pytest.param(cancel_many, id="cancel_many"),
]
BAD_IDS = [
    pytest.param(0, ValueError, id="zero"),
    pytest.param(-1, ValueError, id="negative"),
    pytest.param(True, TypeError, id="True"),
    pytest.param(False, TypeError, id="False"),
    pytest.param(1.5, TypeError, id="float"),
    pytest.param(2.0, TypeError, id="whole-float"),
    pytest.param("abc", ValueError, id="word"),
    pytest.param("", ValueError, id="empty-string"),
    pytest.param("   ", ValueError, id="blank-string"),
    pytest.param("-1", ValueError, id="negative-string"),
    pytest.param("0", ValueError, id="zero-string"),
    pytest.param("1.5", ValueError, id="fraction-string"),
    pytest.param("1,2", ValueError, id="csv-string"),
    pytest.param("\u0661\u0662", ValueError, id="arabic-indic-digits"),
    pytest.param(None, TypeError, id="None"),
    pytest.param(b"12", TypeError, id="bytes"),
    pytest.param(2**63, ValueError, id="2**63"),
    pytest.param(10**5000, ValueError, id="5000-digit-int"),
    pytest.param(str(2**63), ValueError, id="2**63-string"),
    pytest.param("9" * 5000, ValueError, id="5000-digit-string"),
]


@pytest.mark.parametrize("call", SINGLE)
@pytest.mark.parametrize(("value", "error"), BAD_IDS)
async def test_single_call_refuses_bad_id_before_sending(
    scripted: ScriptedPanel,
    client: ToplistClient,
    call: Call,
    value: object,
    error: type[Exception],
) -> None:
    """`status`/`cancel` raise ValueError/TypeError for a bad id and send nothing."""
    with pytest.raises(error):
        await call(client, value)
    assert scripted.received == []


@pytest.mark.parametrize("call", MANY)
@pytest.mark.parametrize(("value", "error"), BAD_IDS)
async def test_many_call_refuses_a_bad_id_among_good_ones(
    scripted: ScriptedPanel,
    client: ToplistClient,
    call: Call,
    value: object,
    error: type[Exception],
) -> None:
    """One bad id fails `status_many`/`cancel_many` before any id is sent."""
    with pytest.raises(error):
        await call(client, [1, 2, value, 3])
    assert scripted.received == []


@pytest.mark.parametrize("call", MANY)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param([], ValueError, id="empty-list"),
        pytest.param((), ValueError, id="empty-tuple"),
        pytest.param("123", TypeError, id="string"),
        pytest.param("1,2,3", TypeError, id="csv-string"),
        pytest.param(b"123", TypeError, id="bytes"),
        pytest.param(None, TypeError, id="None"),
        pytest.param(123, TypeError, id="single-int"),
    ],
)
async def test_many_call_refuses_a_bad_collection(
    scripted: ScriptedPanel,
    client: ToplistClient,
    call: Call,
    value: object,
    error: type[Exception],
) -> None:
    """An empty list, a string, None or a lone int is refused before sending."""
    with pytest.raises(error):
        await call(client, value)
    assert scripted.received == []


@pytest.mark.parametrize("call", SINGLE)
async def test_a_huge_id_fails_its_caller_only(
    scripted: ScriptedPanel, client: ToplistClient, call: Call
) -> None:
    """Ids joining one batch: a 5,000-digit id is refused, the others answered."""

    async def huge() -> object:
        return await call(client, 10**5000)

    results = await asyncio.gather(
        huge(), call(client, 7), call(client, 8), return_exceptions=True
    )
    assert isinstance(results[0], ValueError)
    assert "2**63 - 1" in str(results[0])
    assert [isinstance(result, Exception) for result in results[1:]] == [False] * 2
    assert sent_orders(scripted) == ["7,8"]


@pytest.mark.parametrize("call", SINGLE)
async def test_the_largest_id_is_accepted(
    scripted: ScriptedPanel, client: ToplistClient, call: Call
) -> None:
    """2**63 - 1, the largest id a signed 64-bit column holds, goes through."""
    await call(client, 2**63 - 1)
    assert sent_orders(scripted) == [str(2**63 - 1)]


@pytest.mark.parametrize("call", SINGLE)
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(" 12 ", id="padded-string"),
        pytest.param("12", id="string"),
        pytest.param(12, id="int"),
    ],
)
async def test_single_call_accepts_numeric_strings(
    scripted: ScriptedPanel, client: ToplistClient, call: Call, value: object
) -> None:
    """`" 12 "` and `"12"` are order 12: the panel is asked for "12"."""
    result = await call(client, value)
    assert isinstance(result, OrderStatus | CancelResult)
    assert result.order_id == 12
    assert sent_orders(scripted) == ["12"]


@pytest.mark.parametrize("call", MANY)
async def test_duplicates_are_sent_once_in_first_seen_order(
    scripted: ScriptedPanel, client: ToplistClient, call: Call
) -> None:
    """[3, 1, 3, 2, 1] asks for "3,1,2" and answers each id once."""
    outcomes = await call(client, [3, 1, 3, 2, 1])
    assert sent_orders(scripted) == ["3,1,2"]
    assert isinstance(outcomes, dict)
    assert list(outcomes) == [3, 1, 2]


@pytest.mark.parametrize("call", MANY)
async def test_string_and_int_spellings_of_one_id_are_one_id(
    scripted: ScriptedPanel, client: ToplistClient, call: Call
) -> None:
    """`5`, `"5"` and `" 5 "` are the same order, asked once."""
    outcomes = await call(client, [5, "5", " 5 ", 6])
    assert sent_orders(scripted) == ["5,6"]
    assert isinstance(outcomes, dict)
    assert list(outcomes) == [5, 6]


@pytest.mark.parametrize(
    ("call", "count", "chunks"),
    [
        pytest.param(status_many, 250, [100, 100, 50], id="status_many-250"),
        pytest.param(cancel_many, 150, [100, 50], id="cancel_many-150"),
        pytest.param(status_many, 100, [100], id="status_many-100"),
        pytest.param(cancel_many, 101, [100, 1], id="cancel_many-101"),
    ],
)
async def test_more_than_100_ids_are_chunked(
    scripted: ScriptedPanel,
    client: ToplistClient,
    call: Call,
    count: int,
    chunks: list[int],
) -> None:
    """Over 100 ids go out as requests of at most 100 ids, each id exactly once."""
    ids = list(range(1000, 1000 + count))
    outcomes = await call(client, ids)
    assert isinstance(outcomes, dict)
    assert list(outcomes) == ids
    sent = sorted(
        ([int(i) for i in orders.split(",")] for orders in sent_orders(scripted)),
        key=lambda chunk: chunk[0],
    )
    assert [len(chunk) for chunk in sent] == chunks
    assert [i for chunk in sent for i in chunk] == ids


# --- add -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["key", "action"])
async def test_add_refuses_reserved_fields(
    scripted: ScriptedPanel, client: ToplistClient, field: str
) -> None:
    """`add(key=...)`/`add(action=...)` raise ValueError and send nothing."""
    extra: dict[str, Any] = {field: "evil"}
    with pytest.raises(ValueError, match=field):
        await client.add(service=1, link="https://x", quantity=10, **extra)
    assert scripted.received == []


@pytest.mark.parametrize(
    ("service", "error"),
    [
        pytest.param(0, ValueError, id="zero"),
        pytest.param("abc", ValueError, id="word"),
        pytest.param(None, TypeError, id="None"),
    ],
)
async def test_add_refuses_a_bad_service_id(
    scripted: ScriptedPanel,
    client: ToplistClient,
    service: Any,
    error: type[Exception],
) -> None:
    """A service id that is not a positive whole number is refused before sending."""
    with pytest.raises(error):
        await client.add(service=service, link="https://x", quantity=10)
    assert scripted.received == []


COMMENTS = "Great video!\nLove it\r\nthird line"


async def test_add_json_body(scripted: ScriptedPanel) -> None:
    """The JSON body drops None values, keeps newlines, joins lists one per line
    and passes extra fields through."""
    scripted.handler = panel
    client = ToplistClient(API_KEY, base_url=scripted.base_url, encoding="json")
    async with client:
        order = await client.add(
            service=7,
            link="https://example.com/post",
            quantity=None,
            interval=None,
            runs=None,
            comments=COMMENTS,
            usernames=["alice", "bob", "carol"],
            answer_number=2,
            hashtag=None,
        )
    assert order == 99
    assert scripted.received == [
        {
            "action": "add",
            "key": API_KEY,
            "service": 7,
            "link": "https://example.com/post",
            "comments": COMMENTS,
            "usernames": "alice\nbob\ncarol",
            "answer_number": 2,
        }
    ]


async def test_add_form_body(scripted: ScriptedPanel) -> None:
    """With `encoding="form"` the same order is sent url-encoded, newlines intact."""
    scripted.handler = panel
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, encoding="form", max_retries=0
    ) as client:
        order = await client.add(
            service=7,
            link="https://example.com/post?a=1&b=2",
            quantity=100,
            interval=None,
            comments=COMMENTS,
            usernames=("alice", "bob"),
            answer_number=2,
        )
    assert order == 99
    assert scripted.headers[0]["Content-Type"] == "application/x-www-form-urlencoded"
    assert scripted.received == [
        {
            "action": "add",
            "key": API_KEY,
            "service": "7",
            "link": "https://example.com/post?a=1&b=2",
            "quantity": "100",
            "comments": COMMENTS,
            "usernames": "alice\nbob",
            "answer_number": "2",
        }
    ]
