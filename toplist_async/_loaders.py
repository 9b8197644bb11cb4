"""
The requests behind batched `status()` and `cancel()`: one per batch of ids.

A status batch refused as a whole because of one order (a foreign id:
"Unauthorized access to order status") is halved until that order is found.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import msgspec

from ._decode import STATUS_ENTRIES, to_cancels, to_statuses
from ._exceptions import APIError, AuthenticationError, OrderError, PartialBatchError
from ._models import CancelResult, OrderStatus
from ._retry import is_transient, is_unsent
from ._stats import StatsCounter

__all__ = [
    "Send",
    "about_the_key",
    "load_cancels",
    "load_statuses",
    "missing_order",
    "outcomes",
    "refused_for_one_order",
]

R = TypeVar("R")
E = TypeVar("E", bound=APIError)

# A 401/403 that names the key is about the account, not one order: splitting
# the batch to find "the" bad order would only multiply the failing requests.
_ACCOUNT_WORDS = re.compile(
    r"api key|unauthenticated|token|invalid key|suspend"
    r"|api is disabled?|user not found",
    re.I,
)
# A refused batch is split to find the foreign orders in it; more refused
# orders than this means the refusal is about the request (key, URL), and
# halving on would cost two requests per id.
_MAX_REFUSED_ORDERS = 3


class Send(Protocol):
    """The client's way to send one action with its retry policy."""

    def __call__(
        self,
        action: str,
        fields: Mapping[str, Any],
        retryable: Callable[[BaseException], bool],
        ids: int = 0,
        fast: msgspec.json.Decoder[Any] | None = None,
    ) -> Awaitable[Any]: ...


def about_the_key(exc: BaseException) -> bool:
    """An `AuthenticationError` about the account's key rather than one order."""
    return isinstance(exc, AuthenticationError) and (
        exc.status_code == 401 or bool(_ACCOUNT_WORDS.search(exc.message))
    )


def missing_order(order: int) -> OrderError:
    return OrderError(order, "the panel's answer left this order out", missing=True)


def refused_for_one_order(exc: APIError) -> bool:
    """A JSON 403/404 (or such an error inside a 200) that names no key problem."""
    if not isinstance(exc.body, dict) or _ACCOUNT_WORDS.search(exc.message):
        return False  # an HTML 404 is a wrong URL; a key error is the account's
    return exc.status_code in (403, 404) or (
        exc.status_code == 200 and isinstance(exc, AuthenticationError)
    )


def outcomes(
    results: Mapping[int, R | BaseException],
    refused: type[E],
) -> dict[int, R | E]:
    """
    Per-id answers as `status_many` returns them; `refused` is the per-id error.

    Ids whose request failed as a whole raise: that error if no id was
    answered, else `PartialBatchError` carrying the answers that did come.
    """
    answers: dict[int, R | E] = {}
    failed: dict[int, BaseException] = {}
    for key, value in results.items():
        if isinstance(value, BaseException) and not isinstance(value, refused):
            failed[key] = value
        else:
            answers[key] = value
    if failed:
        if not answers:
            raise next(iter(failed.values()))
        raise PartialBatchError(answers, failed)
    return answers


async def load_statuses(
    send: Send, stats: StatsCounter, orders: list[int]
) -> dict[int, OrderStatus | OrderError]:
    """Ask for the status of `orders`, isolating orders the panel refuses."""
    refusals_left = _MAX_REFUSED_ORDERS

    async def load(part: list[int]) -> dict[int, OrderStatus | OrderError]:
        nonlocal refusals_left
        stats.ids_requested += len(part)
        fields = {"orders": ",".join(map(str, part))}
        try:
            body = await send(
                "status", fields, is_transient, len(part), fast=STATUS_ENTRIES
            )
        except APIError as exc:
            if not refused_for_one_order(exc):
                raise
            if len(part) > 1:
                # One foreign id can fail the whole request: halve to find it.
                stats.batches_split += 1
                half = len(part) // 2
                return await load(part[:half]) | await load(part[half:])
            refusals_left -= 1
            if refusals_left < 0:
                raise  # so many refused orders: the request itself is refused
            refused = OrderError(
                part[0], exc.message, status_code=exc.status_code, body=exc.body
            )
            return {part[0]: refused}
        return to_statuses(body, part)

    return await load(orders)


async def load_cancels(
    send: Send, stats: StatsCounter, orders: list[int]
) -> dict[int, CancelResult | OrderError]:
    """Ask the panel to cancel `orders`: one request, never split or re-sent."""
    stats.ids_requested += len(orders)
    fields = {"orders": ",".join(map(str, orders))}
    body = await send("cancel", fields, is_unsent, len(orders))
    return to_cancels(body, orders)
