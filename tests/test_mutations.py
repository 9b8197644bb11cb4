"""One rule for `add`, `cancel` and `refill`: sent again only when it did nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from tests._helpers import respond
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    CancelResult,
    OrderError,
    RefillResult,
    ToplistClient,
)

Outcome = CancelResult | RefillResult | OrderError


async def _mutate(client: ToplistClient, action: str, way: str) -> dict[int, object]:
    """Cancel or refill order 1 alone, or orders 1 and 2 in one request."""
    one: Callable[[int], Awaitable[object]]
    many: Callable[[list[int]], Awaitable[Mapping[int, object]]]
    if action == "cancel":
        one, many = client.cancel, client.cancel_many
    else:
        one, many = client.refill, client.refill_many
    if way == "one":
        return {1: await one(1)}
    if way == "many":
        return dict(await many([1, 2]))
    # Two callers at once: the batcher sends their ids in one request.
    results = await asyncio.gather(one(1), one(2), return_exceptions=True)
    return dict(zip((1, 2), results, strict=True))


@dataclass(frozen=True)
class Case:
    """A mutation answered with an error status and a body saying what was done."""

    action: str
    way: str  # "one", "two-callers" or "many"
    body: object
    expected: dict[int, object]  # an outcome, or ("refused", message, missing)


DONE_BUT_THROTTLED = [
    Case(
        "cancel",
        "one",
        [{"order": 1, "cancel": 1}],
        {1: CancelResult(order_id=1, refund=None)},
    ),
    Case(
        "cancel",
        "two-callers",
        [{"order": 1, "cancel": 1, "refund": "2.5"}, {"order": 2, "cancel": 1}],
        {
            1: CancelResult(order_id=1, refund=Decimal("2.5")),
            2: CancelResult(order_id=2, refund=None),
        },
    ),
    Case(
        "cancel",
        "many",
        [
            {"order": "1", "cancel": 1},
            {"order": "2", "cancel": {"error": "Order already completed"}},
        ],
        {
            1: CancelResult(order_id=1, refund=None),
            2: ("refused", "Order already completed", False),
        },
    ),
    Case(
        "cancel",
        "many",
        [{"order": 1, "cancel": 1}],
        {
            1: CancelResult(order_id=1, refund=None),
            2: ("refused", "the panel's answer left this order out", True),
        },
    ),
    Case(
        "refill",
        "one",
        [{"order": 1, "refill": 71}],
        {1: RefillResult(order_id=1, refill_id=71)},
    ),
    Case(
        "refill",
        "one",
        {"refill": "71"},
        {1: RefillResult(order_id=1, refill_id=71)},
    ),
    Case(
        "refill",
        "two-callers",
        [{"order": 1, "refill": 71}, {"order": 2, "refill": 72}],
        {
            1: RefillResult(order_id=1, refill_id=71),
            2: RefillResult(order_id=2, refill_id=72),
        },
    ),
    Case(
        "refill",
        "many",
        [
            {"order": 1, "refill": 71},
            {"order": 2, "refill": {"error": "Incorrect order ID"}},
        ],
        {
            1: RefillResult(order_id=1, refill_id=71),
            2: ("refused", "Incorrect order ID", False),
        },
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.action}-{case.way}-{json.dumps(case.body)}"


def _seen(outcome: object) -> object:
    """An outcome as the test compares it: a refusal by its words."""
    if isinstance(outcome, OrderError):
        return ("refused", outcome.message, outcome.missing)
    return outcome


@pytest.mark.parametrize("status", [429, 400, 503])
@pytest.mark.parametrize("case", DONE_BUT_THROTTLED, ids=_case_id)
async def test_error_answer_with_outcomes_is_the_answer_and_never_sent_again(
    scripted: ScriptedPanel, sleeps: list[float], case: Case, status: int
) -> None:
    """
    An error answer (a 429 above all) whose body carries per-order outcomes
    says what the panel did, as it does for an `add`: each caller gets its
    order's outcome, and the mutation is not sent again.
    """
    scripted.handler = respond(
        json.dumps(case.body).encode(), status=status, headers={"Retry-After": "0"}
    )
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=3
    ) as client:
        outcomes = await _mutate(client, case.action, case.way)
        assert {order: _seen(o) for order, o in outcomes.items()} == case.expected
        assert client.stats.requests == {case.action: 1}
        assert client.stats.retries == 0
    assert scripted.actions() == [case.action]
    assert sleeps == []


@pytest.mark.parametrize(
    ("action", "answer", "expected"),
    [
        pytest.param(
            "cancel",
            [{"order": 1, "cancel": 1}],
            CancelResult(order_id=1, refund=None),
            id="cancel",
        ),
        pytest.param(
            "refill",
            [{"order": 1, "refill": 71}],
            RefillResult(order_id=1, refill_id=71),
            id="refill",
        ),
    ],
)
@pytest.mark.parametrize(
    "throttle",
    [
        {"message": "Too Many Attempts."},
        {"error": "Too many requests"},
    ],
    ids=["laravel", "error"],
)
async def test_throttled_answer_without_outcomes_is_sent_again(
    scripted: ScriptedPanel,
    action: str,
    answer: object,
    expected: Outcome,
    throttle: object,
) -> None:
    """A 429 that says nothing of the asked orders was refused whole: send again."""
    answers = [
        (429, json.dumps(throttle).encode()),
        (200, json.dumps(answer).encode()),
    ]

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        status, raw = answers.pop(0)
        return web.Response(
            body=raw,
            status=status,
            content_type="application/json",
            headers={"Retry-After": "0"},
        )

    scripted.handler = handler
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=3
    ) as client:
        assert await _mutate(client, action, "one") == {1: expected}
    assert scripted.actions() == [action, action]
