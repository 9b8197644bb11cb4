"""
The requests behind the batched actions (status, cancel, refill, refill
status): one per batch of ids, sent and read by one loader, `load_batch`.

A read is retried on anything transient; a mutation (cancel, refill) follows
the mutation rule of `_retry`, and an error answer that still carries per-order
outcomes (a 429 listing the cancels it made) is read as the answer. A status
batch refused as a whole because of one order (a foreign id: "Unauthorized
access to order status") is halved until that order is found.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from ._cancel_answers import to_cancels
from ._connections import MUTATIONS
from ._exceptions import APIError, AuthenticationError, OrderError, PartialBatchError
from ._models import CancelResult, OrderStatus
from ._retry import answer_in, is_transient, mutation_rule
from ._stats import StatsCounter
from ._status_answers import STATUS_ENTRIES, to_statuses

__all__ = [
    "Batched",
    "Send",
    "about_the_key",
    "load_batch",
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


def _never(exc: APIError) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Batched(Generic[R, E]):
    """
    How one batched action is asked for and its answer read.

    `read(body, ids)` maps an answer to one outcome per id it names; `refused`
    builds the per-id error (`OrderError`, `RefillError`) for an error that
    `refused_alone` says is about the lone id of a request.
    """

    action: str
    field: str
    read: Callable[[object, list[int]], dict[int, R | E]]
    refused: Callable[..., E]
    refused_alone: Callable[[APIError], bool] = _never
    fast: msgspec.json.Decoder[Any] | None = None

    @property
    def mutation(self) -> bool:
        return self.action in MUTATIONS


async def load_batch(
    send: Send, stats: StatsCounter, how: Batched[R, E], ids: list[int]
) -> dict[int, R | E]:
    """Send one request of `how.action` for `ids` and read one outcome per id."""
    stats.ids_requested += len(ids)
    fields = {how.field: ",".join(map(str, ids))}

    def read(body: object) -> dict[int, R | E]:
        return how.read(body, ids)

    retryable = mutation_rule(read) if how.mutation else is_transient
    try:
        body = await send(how.action, fields, retryable, len(ids), fast=how.fast)
    except APIError as exc:
        answer = answer_in(exc, read) if how.mutation else None
        if answer is not None:
            return answer  # what was done, whatever the status said
        if len(ids) != 1 or not how.refused_alone(exc):
            raise
        # A lone id's refusal comes as the whole answer: {"error": "..."}.
        error = how.refused(
            ids[0], exc.message, status_code=exc.status_code, body=exc.body
        )
        return {ids[0]: error}
    return read(body)


_STATUS = Batched("status", "orders", to_statuses, OrderError, fast=STATUS_ENTRIES)
_CANCEL = Batched("cancel", "orders", to_cancels, OrderError)


async def load_statuses(
    send: Send, stats: StatsCounter, orders: list[int]
) -> dict[int, OrderStatus | OrderError]:
    """Ask for the status of `orders`, isolating orders the panel refuses."""
    refusals_left = _MAX_REFUSED_ORDERS

    async def load(part: list[int]) -> dict[int, OrderStatus | OrderError]:
        nonlocal refusals_left
        try:
            return await load_batch(send, stats, _STATUS, part)
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

    return await load(orders)


async def load_cancels(
    send: Send, stats: StatsCounter, orders: list[int]
) -> dict[int, CancelResult | OrderError]:
    """Ask the panel to cancel `orders`: one request, never split."""
    return await load_batch(send, stats, _CANCEL, orders)
