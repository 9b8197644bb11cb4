"""
The requests behind batched `refill()` and `refill_status()`, and their answers.

A refill is a mutation, sent again only as a cancel is; a refill status is a read,
retried like a status. Panels answer both in several shapes: one flat object
for a lone id (`{"refill": "1"}`, `{"status": "Completed"}`), a list of entries
naming their id, or an object keyed by id; a refused id carries an `error`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

from ._decode import keyed_by_order
from ._exceptions import (
    APIError,
    BadRequestError,
    OrderError,
    RefillError,
    ResponseValidationError,
)
from ._loaders import Batched, Send, load_batch, refused_for_one_order
from ._refill_models import RefillResult, RefillStatus, parse_refill_state
from ._scalars import error_text, order_key
from ._stats import StatsCounter

__all__ = [
    "load_refill_statuses",
    "load_refills",
    "missing_refill",
    "to_refill_statuses",
    "to_refills",
]

R = TypeVar("R")


def missing_refill(refill_id: int) -> RefillError:
    message = "the panel's answer left this refill out"
    return RefillError(refill_id, message, missing=True)


def _invalid(action: str, body: object, why: str) -> NoReturn:
    msg = f"unexpected answer to {action!r}: {why}"
    raise ResponseValidationError(msg, status_code=200, body=body)


def _refused_alone(exc: APIError) -> bool:
    """An error answered for a request of one id that is about that id."""
    plain_refusal = type(exc) is BadRequestError and not exc.errors
    return plain_refusal or refused_for_one_order(exc)


def _per_id(
    body: object,
    asked: list[int],
    *,
    id_field: str,
    flat: Callable[[dict[Any, Any]], bool],
    read: Callable[[int, object], R],
    action: str,
) -> dict[int, R]:
    """Map an answer in any of the family's shapes to one outcome per asked id."""
    if isinstance(body, dict) and flat(body) and id_field not in body:
        if len(asked) != 1:
            _invalid(action, body, f"one answer for {len(asked)} ids")
        return {asked[0]: read(asked[0], body)}
    keyed = keyed_by_order(body, id_field)
    if isinstance(keyed, dict) and id_field in keyed:
        keyed = {str(keyed[id_field]).strip(): keyed}  # one entry on its own
    if not isinstance(keyed, dict):
        _invalid(action, body, f"expected entries naming their {id_field}")
    wanted = set(asked)
    found: dict[int, R] = {}
    for key, entry in keyed.items():
        number = order_key(key)
        if number is not None and number in wanted:
            found[number] = read(number, entry)
    if not found:
        _invalid(action, body, "none of the asked ids is in it")
    return found


def _refusal(entry: object, value: object) -> str | None:
    """The panel's words when an entry, or its value for the id, is an error."""
    for place in (entry, value):
        if isinstance(place, dict) and place.get("error"):
            return error_text(place["error"])
    return None


def to_refills(
    body: object, order_ids: Iterable[int]
) -> dict[int, RefillResult | OrderError]:
    """Read `{"refill": "1"}` or `[{"order": 1, "refill": 1}, ...]` per order."""

    def read(order_id: int, entry: object) -> RefillResult | OrderError:
        value = entry.get("refill") if isinstance(entry, dict) else entry
        refused = _refusal(entry, value)
        if refused is not None:
            return OrderError(order_id, refused, body=entry)
        refill_id = order_key(value)
        if refill_id is not None:
            return RefillResult(order_id=order_id, refill_id=refill_id)
        if isinstance(value, str) and value.strip():
            return OrderError(order_id, value, body=entry)
        message = f"the panel answered {value!r} for this refill"
        return OrderError(order_id, message, body=entry)

    return _per_id(
        body,
        list(order_ids),
        id_field="order",
        flat=lambda answer: "refill" in answer,
        read=read,
        action="refill",
    )


def to_refill_statuses(
    body: object, refill_ids: Iterable[int]
) -> dict[int, RefillStatus | RefillError]:
    """Read `{"status": "Completed"}` or `[{"refill": 1, "status": ...}, ...]`."""

    def read(refill_id: int, entry: object) -> RefillStatus | RefillError:
        value = entry.get("status") if isinstance(entry, dict) else entry
        refused = _refusal(entry, value)
        if refused is not None:
            return RefillError(refill_id, refused, body=entry)
        if isinstance(value, dict):
            value = value.get("status")  # {"status": {"status": "In progress"}}
        if isinstance(value, str) and value:
            return RefillStatus(
                refill_id=refill_id, status=parse_refill_state(value), raw_status=value
            )
        message = f"the panel answered {value!r} for this refill"
        return RefillError(refill_id, message, body=entry)

    return _per_id(
        body,
        list(refill_ids),
        id_field="refill",
        flat=lambda answer: "status" in answer,
        read=read,
        action="refill_status",
    )


_REFILL = Batched("refill", "orders", to_refills, OrderError, _refused_alone)
_REFILL_STATUS = Batched(
    "refill_status", "refills", to_refill_statuses, RefillError, _refused_alone
)


async def load_refills(
    send: Send, stats: StatsCounter, orders: list[int]
) -> dict[int, RefillResult | OrderError]:
    """Ask the panel to refill `orders`: one request, never split."""
    return await load_batch(send, stats, _REFILL, orders)


async def load_refill_statuses(
    send: Send, stats: StatsCounter, refills: list[int]
) -> dict[int, RefillStatus | RefillError]:
    """Ask where `refills` stand; retried like a status."""
    return await load_batch(send, stats, _REFILL_STATUS, refills)
