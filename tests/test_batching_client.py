"""Batching through the real ToplistClient against a real local HTTP server."""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIError,
    AuthenticationError,
    CancelResult,
    ClientClosedError,
    InternalServerError,
    OrderError,
    OrderStatus,
    PartialBatchError,
    ToplistClient,
)

OTHER_KEY = "sk-other-fedcba9876543210"
STATES = ("Pending", "In progress", "Completed")
UNAUTHORIZED_STATUS = "Unauthorized access to order status"
CANT_CANCEL = "Order already completed and cannot be canceled"


def ids_of(body: dict[str, Any]) -> list[int]:
    return [int(part) for part in str(body["orders"]).split(",")]


def status_entry(order: int) -> dict[str, object]:
    """A status entry whose every field is derived from the order id."""
    return {
        "charge": f"{order}.5",
        "start_count": order,
        "status": STATES[order % 3],
        "remains": 2 * order,
        "currency": "USD",
    }


def assert_status_of(order: int, got: object) -> None:
    assert isinstance(got, OrderStatus), f"{order}: {got!r}"
    assert (got.order_id, got.start_count, got.remains, got.charge, got.raw_status) == (
        order,
        order,
        2 * order,
        Decimal(f"{order}.5"),
        STATES[order % 3],
    )


async def answer_statuses(request: web.Request, body: dict[str, Any]) -> web.Response:
    return web.json_response({str(i): status_entry(i) for i in ids_of(body)})


def cancel_entry(order: int) -> dict[str, object]:
    """Orders ending in 0 cannot be cancelled; the others refund their own id."""
    if order % 10 == 0:
        return {"order": str(order), "cancel": {"error": CANT_CANCEL}}
    return {"order": str(order), "cancel": 1, "refund": order}


def assert_cancel_of(order: int, got: object) -> None:
    if order % 10 == 0:
        assert isinstance(got, OrderError), f"{order}: {got!r}"
        assert (got.order_id, got.message) == (order, CANT_CANCEL)
    else:
        assert got == CancelResult(order_id=order, refund=Decimal(order))


async def answer_cancels(request: web.Request, body: dict[str, Any]) -> web.Response:
    return web.json_response([cancel_entry(i) for i in ids_of(body)])


def asked(scripted: ScriptedPanel, action: str) -> list[list[int]]:
    """The ids of every `action` request the server received, in order."""
    return [ids_of(body) for body in scripted.received if body["action"] == action]


async def gather_outcomes(calls: list[Any]) -> list[object]:
    """Run every call as its own task; return each result or raised exception."""
    tasks = [asyncio.create_task(call) for call in calls]
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def batch_tasks() -> list[asyncio.Task[Any]]:
    """The batcher's request tasks still alive in this loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "Batcher._run"
    ]


@pytest.fixture
async def client(scripted: ScriptedPanel) -> AsyncIterator[ToplistClient]:
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as toplist:
        yield toplist


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Record what the loop reports (e.g. exceptions never retrieved)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(previous)


# --- merging into requests ----------------------------------------------------


async def test_1000_concurrent_status_calls_make_10_requests(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """1,000 status() calls from separate tasks go out as ten 100-id requests."""
    scripted.handler = answer_statuses
    got = await gather_outcomes([client.status(i) for i in range(1, 1001)])
    for order, status in enumerate(got, start=1):
        assert_status_of(order, status)
    requests = asked(scripted, "status")
    assert len(requests) == 10
    assert all(len(ids) == 100 for ids in requests)
    assert sorted(i for ids in requests for i in ids) == list(range(1, 1001))
    stats = client.stats
    assert stats.requests == {"status": 10}
    assert stats.awaits == {"status": 1000}
    assert stats.ids_requested == 1000
    assert stats.ids_merged == 0


async def test_duplicate_ids_across_tasks_are_asked_once(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """Tasks asking the same ids share one slot each; every task gets its answer."""
    scripted.handler = answer_statuses
    orders = [i % 100 + 1 for i in range(300)]
    got = await gather_outcomes([client.status(i) for i in orders])
    for order, status in zip(orders, got, strict=True):
        assert_status_of(order, status)
    assert [sorted(ids) for ids in asked(scripted, "status")] == [list(range(1, 101))]
    assert client.stats.ids_merged == 200
    assert client.stats.awaits == {"status": 300}


async def test_status_many_of_250_ids_makes_3_requests(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """status_many splits 250 ids into requests of 100, 100 and 50."""
    scripted.handler = answer_statuses
    got = await client.status_many(range(1, 251))
    assert sorted(got) == list(range(1, 251))
    for order, status in got.items():
        assert_status_of(order, status)
    assert [len(ids) for ids in asked(scripted, "status")] == [100, 100, 50]


async def test_status_many_shares_ids_with_concurrent_status_calls(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """An id asked by status() and status_many() at once is requested once."""
    scripted.handler = answer_statuses
    single = asyncio.create_task(client.status(7))
    many = asyncio.create_task(client.status_many([5, 6, 7, 8]))
    assert_status_of(7, await single)
    for order, status in (await many).items():
        assert_status_of(order, status)
    assert sorted(i for ids in asked(scripted, "status") for i in ids) == [5, 6, 7, 8]
    assert client.stats.ids_merged == 1


async def test_250_concurrent_cancels_make_3_requests_with_per_id_results(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """Concurrent cancel() calls are batched; each gets its own order's result."""
    scripted.handler = answer_cancels
    got = await gather_outcomes([client.cancel(i) for i in range(1, 251)])
    for order, result in enumerate(got, start=1):
        assert_cancel_of(order, result)
    requests = asked(scripted, "cancel")
    assert [len(ids) for ids in requests] == [100, 100, 50]
    assert sorted(i for ids in requests for i in ids) == list(range(1, 251))
    assert client.stats.requests == {"cancel": 3}


async def test_cancel_many_returns_per_id_results(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """cancel_many maps every id to its CancelResult or OrderError in one request."""
    scripted.handler = answer_cancels
    got = await client.cancel_many([9, 10, 11, 9])
    assert sorted(got) == [9, 10, 11]
    for order, result in got.items():
        assert_cancel_of(order, result)
    assert asked(scripted, "cancel") == [[9, 10, 11]]


# --- splitting a refused status batch ------------------------------------------


@pytest.mark.parametrize(
    ("http_status", "error", "bad"),
    [
        pytest.param(403, UNAUTHORIZED_STATUS, {13}, id="403-one-foreign-id"),
        pytest.param(403, UNAUTHORIZED_STATUS, {13, 77}, id="403-two-foreign-ids"),
        pytest.param(404, "Order not found", {50}, id="404-one-unknown-id"),
    ],
)
async def test_refused_ids_are_isolated_by_halving_the_batch(
    scripted: ScriptedPanel,
    client: ToplistClient,
    http_status: int,
    error: str,
    bad: set[int],
) -> None:
    """A batch refused for one order is halved until that order alone is refused."""

    async def refuse_foreign(
        request: web.Request, body: dict[str, Any]
    ) -> web.Response:
        if bad & set(ids_of(body)):
            return web.json_response({"error": error}, status=http_status)
        return await answer_statuses(request, body)

    scripted.handler = refuse_foreign
    n = 100
    got = await gather_outcomes([client.status(i) for i in range(1, n + 1)])
    for order, status in enumerate(got, start=1):
        if order in bad:
            assert isinstance(status, OrderError), f"{order}: {status!r}"
            assert (status.order_id, status.message) == (order, error)
            assert status.status_code == http_status
        else:
            assert_status_of(order, status)
    requests = len(asked(scripted, "status"))
    assert requests <= 1 + 2 * len(bad) * math.ceil(math.log2(n))
    assert client.stats.batches_split > 0
    assert client.stats.requests == {"status": requests}


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        pytest.param(401, {"message": "Unauthenticated."}, id="401-unauthenticated"),
        pytest.param(403, {"error": "Invalid API key"}, id="403-invalid-key"),
    ],
)
async def test_refused_key_fails_every_caller_without_splitting(
    scripted: ScriptedPanel,
    client: ToplistClient,
    http_status: int,
    body: dict[str, str],
) -> None:
    """A refusal about the key is not split: one request, every caller gets it."""

    async def refuse(request: web.Request, _body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=http_status)

    scripted.handler = refuse
    got = await gather_outcomes([client.status(i) for i in range(1, 51)])
    assert all(isinstance(error, AuthenticationError) for error in got)
    assert not any(isinstance(error, OrderError) for error in got)
    assert len(scripted.received) == 1
    assert client.stats.batches_split == 0


async def test_a_refusal_of_every_order_stops_splitting_early(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """When every order is refused, halving stops early: the request is refused."""

    async def refuse(request: web.Request, _body: dict[str, Any]) -> web.Response:
        return web.json_response({"error": "Unauthorized"}, status=403)

    scripted.handler = refuse
    got = await gather_outcomes([client.status(i) for i in range(1, 101)])
    assert all(type(error) is AuthenticationError for error in got)
    # Not the 199 requests of halving down to every single id.
    assert len(scripted.received) <= 20
    assert client.stats.batches_split > 0


async def test_an_html_404_is_a_wrong_url_not_a_refused_order(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """A 404 page that is not JSON fails the batch at once: it is not split."""

    async def not_found(request: web.Request, _body: dict[str, Any]) -> web.Response:
        return web.Response(
            status=404, text="<h1>Not Found</h1>", content_type="text/html"
        )

    scripted.handler = not_found
    got = await gather_outcomes([client.status(i) for i in range(1, 51)])
    assert all(type(error) is APIError and error.status_code == 404 for error in got)
    assert len(scripted.received) == 1
    assert client.stats.batches_split == 0


async def test_cancel_batches_are_never_split(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """A refused cancel batch fails as a whole: the mutation is not re-sent in parts."""

    async def refuse_foreign(
        request: web.Request, body: dict[str, Any]
    ) -> web.Response:
        if 13 in ids_of(body):
            return web.json_response({"error": "Unauthorized access"}, status=403)
        return await answer_cancels(request, body)

    scripted.handler = refuse_foreign
    got = await gather_outcomes([client.cancel(i) for i in range(1, 51)])
    assert all(type(error) is AuthenticationError for error in got)
    assert asked(scripted, "cancel") == [list(range(1, 51))]
    assert client.stats.batches_split == 0


# --- closing -----------------------------------------------------------------


async def test_closing_fails_waiting_status_callers_promptly(
    scripted: ScriptedPanel, loop_errors: list[dict[str, Any]]
) -> None:
    """Closing while 500 status callers wait on a slow panel fails them all at once."""
    release, all_sent = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request, body: dict[str, Any]) -> web.Response:
        if len(scripted.received) == 5:
            all_sent.set()
        await release.wait()
        return await answer_statuses(request, body)

    scripted.handler = slow
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    try:
        tasks = [asyncio.create_task(client.status(i)) for i in range(1, 501)]
        await asyncio.wait_for(all_sent.wait(), 2)
        started = time.perf_counter()
        await asyncio.wait_for(client.aclose(), 1)
        got = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 1)
        assert time.perf_counter() - started < 1
        assert all(isinstance(error, ClientClosedError) for error in got)
        assert batch_tasks() == []
        del tasks, got
        gc.collect()
        assert loop_errors == []
    finally:
        release.set()
        await client.aclose()


async def test_sent_cancel_batch_completes_when_client_closes(
    scripted: ScriptedPanel, loop_errors: list[dict[str, Any]]
) -> None:
    """aclose waits for a sent cancel batch: its callers learn what the panel did."""
    release, both_sent = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request, body: dict[str, Any]) -> web.Response:
        if sorted(scripted.actions()) == ["cancel", "status"]:
            both_sent.set()
        await release.wait()
        if body["action"] == "cancel":
            return await answer_cancels(request, body)
        return await answer_statuses(request, body)

    scripted.handler = slow
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    try:
        cancels = [asyncio.create_task(client.cancel(i)) for i in (9, 10, 11)]
        statuses = [asyncio.create_task(client.status(i)) for i in (1, 2)]
        await asyncio.wait_for(both_sent.wait(), 2)
        closing = asyncio.create_task(client.aclose())
        await asyncio.sleep(0.05)
        assert not closing.done()
        for status in await asyncio.gather(*statuses, return_exceptions=True):
            assert isinstance(status, ClientClosedError)
        release.set()
        await asyncio.wait_for(closing, 1)
        for order, task in zip((9, 10, 11), cancels, strict=True):
            assert task.done()
            assert_cancel_of(order, task.exception() or task.result())
        assert scripted.actions().count("cancel") == 1
        assert batch_tasks() == []
        del cancels, statuses
        gc.collect()
        assert loop_errors == []
    finally:
        release.set()
        await client.aclose()


async def test_calls_after_close_are_refused_without_a_request(
    scripted: ScriptedPanel,
) -> None:
    """Calls on a closed client raise ClientClosedError and send nothing."""
    scripted.handler = answer_statuses
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.status(1)
    with pytest.raises(ClientClosedError):
        await client.cancel_many([1, 2])
    assert scripted.received == []


# --- isolation -----------------------------------------------------------------


async def test_two_clients_never_share_a_batch(scripted: ScriptedPanel) -> None:
    """Each client's ids travel only in requests signed with its own key."""
    scripted.handler = answer_statuses
    wanted = {API_KEY: range(1, 151), OTHER_KEY: range(101, 251)}
    async with (
        ToplistClient(API_KEY, base_url=scripted.base_url) as first,
        ToplistClient(OTHER_KEY, base_url=scripted.base_url) as second,
    ):
        # Interleaved: first(1), second(101), first(2), second(102), ...
        pairs = list(zip(wanted[API_KEY], wanted[OTHER_KEY], strict=True))
        got = await gather_outcomes(
            [call for a, b in pairs for call in (first.status(a), second.status(b))]
        )
    for order, status in zip([i for pair in pairs for i in pair], got, strict=True):
        assert_status_of(order, status)
    for key, orders in wanted.items():
        sent = [ids_of(body) for body in scripted.received if body["key"] == key]
        assert sorted(i for ids in sent for i in ids) == list(orders), key
    assert {body["key"] for body in scripted.received} == set(wanted)


async def test_status_many_keeps_the_answers_of_batches_that_came(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """One of three status requests failing as a whole raises PartialBatchError
    carrying the 150 answers that came and the 100 orders that got none."""

    async def one_batch_fails(
        request: web.Request, body: dict[str, Any]
    ) -> web.Response:
        if 101 in ids_of(body):
            return web.Response(status=500, text="<h1>oops</h1>")
        return await answer_statuses(request, body)

    scripted.handler = one_batch_fails
    with pytest.raises(PartialBatchError) as caught:
        await client.status_many(range(1, 251))
    error = caught.value
    assert sorted(error.outcomes) == [*range(1, 101), *range(201, 251)]
    for order, status in error.outcomes.items():
        assert_status_of(order, status)
    assert sorted(error.errors) == list(range(101, 201))
    assert all(isinstance(e, InternalServerError) for e in error.errors.values())
    assert "100 of 250 orders got no answer" in str(error)


async def test_cancel_many_says_which_cancels_went_through(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """A cancel batch failing after it was sent does not hide the others' refunds."""

    async def one_batch_fails(
        request: web.Request, body: dict[str, Any]
    ) -> web.Response:
        if 1 in ids_of(body):
            return web.Response(status=502, text="<h1>bad gateway</h1>")
        return await answer_cancels(request, body)

    scripted.handler = one_batch_fails
    with pytest.raises(PartialBatchError) as caught:
        await client.cancel_many(range(1, 151))
    assert sorted(caught.value.outcomes) == list(range(101, 151))
    assert sorted(caught.value.errors) == list(range(1, 101))
    assert len(asked(scripted, "cancel")) == 2  # the failed batch was not re-sent


async def test_many_call_whose_every_request_failed_raises_that_error(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """When no order was answered, the request's own error is raised, not a partial."""

    async def always_fails(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.Response(status=503, text="<h1>maintenance</h1>")

    scripted.handler = always_fails
    with pytest.raises(InternalServerError):
        await client.status_many(range(1, 151))
