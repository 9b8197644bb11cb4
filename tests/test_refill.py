"""`refill()` and `refill_status()`: batched like cancel and status, every shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings, strategies as st

from tests._helpers import respond
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    OrderError,
    PartialBatchError,
    RefillError,
    RefillResult,
    RefillState,
    RefillStatus,
    ResponseValidationError,
    ToplistClient,
)
from toplist_async._refills import to_refill_statuses, to_refills

NGINX_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


@pytest.fixture
async def retrying(scripted: ScriptedPanel) -> AsyncIterator[ToplistClient]:
    """A client on the `scripted` panel that retries twice."""
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=2
    ) as toplist:
        yield toplist


# --- refill --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "refill_id"),
    [
        pytest.param(b'{"refill": "1"}', 1, id="string"),
        pytest.param(
            b'{"success": "Your order will be refill asap", "refill": 12345}',
            12345,
            id="success-text",
        ),
        pytest.param(b'[{"order": 7, "refill": 9}]', 9, id="list"),
    ],
)
async def test_refill_answers(
    scripted: ScriptedPanel, client: ToplistClient, raw: bytes, refill_id: int
) -> None:
    scripted.handler = respond(raw)
    result = await client.refill(7)
    assert result == RefillResult(order_id=7, refill_id=refill_id)
    assert scripted.received[0]["action"] == "refill"
    assert scripted.received[0]["orders"] == "7"


async def test_refused_refill_raises_order_error(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"error": "Order not eligible for refill."}')
    with pytest.raises(OrderError) as caught:
        await client.refill(7)
    assert caught.value.order_id == 7
    assert caught.value.message == "Order not eligible for refill."


async def test_refill_many_reads_per_order_errors(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'[{"order": 1, "refill": 1}, {"order": 3, "refill": '
        b'{"error": "Incorrect order ID"}}]'
    )
    outcomes = await client.refill_many([1, 3, 1])
    assert outcomes[1] == RefillResult(order_id=1, refill_id=1)
    refused = outcomes[3]
    assert isinstance(refused, OrderError)
    assert refused.message == "Incorrect order ID"
    assert [body["orders"] for body in scripted.received] == ["1,3"]


async def test_concurrent_refills_share_one_request(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    async def answer(request: web.Request, body: dict[str, Any]) -> web.Response:
        ids = body["orders"].split(",")
        return web.json_response([{"order": i, "refill": int(i) * 10} for i in ids])

    scripted.handler = answer
    results = await asyncio.gather(*(client.refill(i) for i in (1, 2, 3)))
    assert [r.refill_id for r in results] == [10, 20, 30]
    assert len(scripted.received) == 1
    stats = client.stats
    assert stats.requests == {"refill": 1}
    assert stats.awaits == {"refill": 3}


async def test_refill_is_never_sent_twice(
    scripted: ScriptedPanel, retrying: ToplistClient
) -> None:
    """A refill whose answer is lost (502) is not re-sent: it is a mutation."""
    scripted.handler = respond(NGINX_502, status=502, content_type="text/html")
    with pytest.raises(InternalServerError):
        await retrying.refill(7)
    assert len(scripted.received) == 1


async def test_refill_is_resent_when_it_never_left(dead_url: str) -> None:
    async with ToplistClient(API_KEY, base_url=dead_url, max_retries=1) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.refill(7)
    assert caught.value.request_sent is False
    assert client.stats.requests == {"refill": 2}


async def test_refill_whole_batch_refusal_is_raised_to_every_caller(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"error": "Refill is disabled on this panel"}')
    with pytest.raises(BadRequestError):
        await client.refill_many([1, 2])


# --- refill_status -------------------------------------------------------------


async def test_refill_status_single(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'{"status": "Completed"}')
    status = await client.refill_status(42)
    assert status == RefillStatus(
        refill_id=42, status=RefillState.COMPLETED, raw_status="Completed"
    )
    assert status.is_final
    assert scripted.received[0]["action"] == "refill_status"
    assert scripted.received[0]["refills"] == "42"


async def test_refill_status_many(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(
        b'[{"refill": 1, "status": "Completed"}, {"refill": 2, "status": '
        b'"Rejected"}, {"refill": 3, "status": {"error": "Refill not found"}}]'
    )
    outcomes = await client.refill_status_many([1, 2, 3])
    first, second, third = outcomes[1], outcomes[2], outcomes[3]
    assert isinstance(first, RefillStatus)
    assert first.status is RefillState.COMPLETED
    assert isinstance(second, RefillStatus)
    assert second.status is RefillState.REJECTED
    assert isinstance(third, RefillError)
    assert (third.refill_id, third.message) == (3, "Refill not found")


async def test_refill_status_nested(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'[{"refill": 42, "status": {"status": "In progress"}}]')
    status = await client.refill_status(42)
    assert status.status is RefillState.IN_PROGRESS
    assert status.raw_status == "In progress"
    assert not status.is_final


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"status": {"error": "Refill not found"}}', id="nested"),
        pytest.param(b'{"error": "Refill not found"}', id="whole-answer"),
    ],
)
async def test_refused_refill_status_raises_refill_error(
    scripted: ScriptedPanel, client: ToplistClient, raw: bytes
) -> None:
    scripted.handler = respond(raw)
    with pytest.raises(RefillError) as caught:
        await client.refill_status(5)
    assert caught.value.refill_id == 5
    assert caught.value.message == "Refill not found"
    assert str(caught.value) == "refill 5: Refill not found"


async def test_refill_status_is_retried(
    scripted: ScriptedPanel, retrying: ToplistClient
) -> None:
    answers = [
        web.Response(body=NGINX_502, status=502, content_type="text/html"),
        web.json_response({"status": "Pending"}),
    ]

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        return answers.pop(0)

    scripted.handler = handler
    status = await retrying.refill_status(5)
    assert status.status is RefillState.PENDING
    assert retrying.stats.requests == {"refill_status": 2}
    assert retrying.stats.retries == 1


async def test_refill_status_ids_left_out_are_missing(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    scripted.handler = respond(b'[{"refill": 1, "status": "Completed"}]')
    outcomes = await client.refill_status_many([1, 2])
    missing = outcomes[2]
    assert isinstance(missing, RefillError)
    assert missing.missing


async def test_refill_status_many_keeps_answers_when_a_batch_fails(
    scripted: ScriptedPanel,
) -> None:
    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        if body["refills"] == "1":
            return web.json_response([{"refill": 1, "status": "Completed"}])
        return web.Response(body=NGINX_502, status=502, content_type="text/html")

    scripted.handler = handler
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0, max_batch_size=1
    ) as client:
        with pytest.raises(PartialBatchError) as caught:
            await client.refill_status_many([1, 2])
    assert isinstance(caught.value.outcomes[1], RefillStatus)
    assert isinstance(caught.value.errors[2], InternalServerError)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Pending", RefillState.PENDING),
        ("in_progress", RefillState.IN_PROGRESS),
        ("In Progress", RefillState.IN_PROGRESS),
        ("Completed", RefillState.COMPLETED),
        ("Rejected", RefillState.REJECTED),
        ("Cancelled", RefillState.CANCELED),
        ("Refill Completed", RefillState.COMPLETED),
        ("Awaiting review", RefillState.UNKNOWN),
    ],
)
def test_refill_state_spellings(raw: str, state: RefillState) -> None:
    assert RefillState.parse(raw) is state


@pytest.mark.parametrize("bad", [0, -1, "x", None])
async def test_bad_ids_raise_before_sending(
    scripted: ScriptedPanel, client: ToplistClient, bad: Any
) -> None:
    with pytest.raises((TypeError, ValueError)):
        await client.refill(bad)
    with pytest.raises((TypeError, ValueError)):
        await client.refill_status(bad)
    assert scripted.received == []


# --- any answer at all ---------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**70),
    st.sampled_from(["1", "2", "Completed", "error", "", "1.000", "In progress"]),
    st.text(max_size=8),
)
KEYS = st.one_of(
    st.sampled_from(["order", "refill", "status", "error", "1", "2", "success"]),
    st.text(max_size=4),
)
BODIES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(deadline=None, derandomize=True, database=None, max_examples=300)
@given(
    body=BODIES, ids=st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True)
)
def test_any_refill_answer_gives_outcomes_or_a_validation_error(
    body: object, ids: list[int]
) -> None:
    """Whatever the shape, each asked id gets its model or its error, or the whole
    answer is a ResponseValidationError; nothing else escapes."""
    for convert, model, refused in (
        (to_refills, RefillResult, OrderError),
        (to_refill_statuses, RefillStatus, RefillError),
    ):
        try:
            outcomes = convert(body, ids)
        except ResponseValidationError:
            continue
        assert set(outcomes) <= set(ids)
        for key, outcome in outcomes.items():
            assert isinstance(outcome, model | refused)
            if isinstance(outcome, RefillResult):
                assert outcome.order_id == key
                assert type(outcome.refill_id) is int
                assert outcome.refill_id > 0
            elif isinstance(outcome, RefillStatus):
                assert outcome.refill_id == key
                assert isinstance(outcome.status, RefillState)
