"""
Reading status answers into one outcome per asked order.

The usual answer is decoded straight into `StatusEntry` structs (the fast path
of `status()`); anything else goes through the tolerant reader, which accepts
wrapper lists, per-order errors, the single-order form and ids spelled another
way than ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from ._decode import invalid_answer, keyed_by_order, unwrap_single
from ._exceptions import OrderError
from ._models import OrderStatus, parse_state
from ._scalars import error_text, integer, money, order_key, text

__all__ = ["STATUS_ENTRIES", "StatusEntry", "to_statuses"]

_ABSENT = object()
_STATUS_FIELDS = frozenset({"charge", "start_count", "remains", "currency"})


class StatusEntry(msgspec.Struct, gc=False):
    """One status entry as panels write it, counts and money as numbers or strings."""

    status: str
    charge: Decimal | None = None
    start_count: int | str | None = None
    remains: int | str | None = None
    currency: str | None = None
    error: None = None


# Decodes the usual status answer straight into structs, in both number
# dialects. Anything else (fractional counts, per-order errors, error
# envelopes) fails it and takes the tolerant path instead. Not msgspec's lax
# mode: it would read "1.000" as 1, which `integer` refuses to guess.
STATUS_ENTRIES = msgspec.json.Decoder(dict[str, StatusEntry])


# Longer digit strings are no count; `integer` decides what they are.
_MAX_FAST_DIGITS = 18


def _count(value: str) -> int | None:
    """A count the fast path got as a string, read exactly as `integer` reads it."""
    if value.isdecimal() and len(value) <= _MAX_FAST_DIGITS:
        return int(value)  # "3572": what `integer` would make of it, sooner
    return integer(value)


def _status(order_id: int, entry: object) -> OrderStatus | OrderError:
    if type(entry) is StatusEntry:
        charge, started, remains = entry.charge, entry.start_count, entry.remains
        return OrderStatus(
            order_id=order_id,
            charge=charge if charge is None or charge.is_finite() else None,
            start_count=_count(started) if isinstance(started, str) else started,
            status=parse_state(entry.status),
            raw_status=entry.status,
            remains=_count(remains) if isinstance(remains, str) else remains,
            currency=entry.currency,
        )
    if isinstance(entry, str) and entry:
        return OrderError(order_id, entry, body=entry)  # {"987": "Incorrect order ID"}
    if not isinstance(entry, dict):
        return OrderError(order_id, f"the panel answered {entry!r} for this order")
    if entry.get("error"):
        return OrderError(order_id, error_text(entry["error"]), body=entry)
    raw_status = text(entry.get("status"))
    currency = entry.get("currency")
    return OrderStatus(
        order_id=order_id,
        charge=money(entry.get("charge")),
        start_count=integer(entry.get("start_count")),
        status=parse_state(raw_status),
        raw_status=raw_status,
        remains=integer(entry.get("remains")),
        currency=None if currency is None else text(currency),
    )


def to_statuses(
    body: object, order_ids: Iterable[int]
) -> dict[int, OrderStatus | OrderError]:
    """
    Read a status answer keyed by order id into one outcome per asked id.

    Ids the panel left out of its answer are absent from the result; one bad
    entry only affects its own order.
    """
    asked = list(order_ids)
    body = unwrap_single(keyed_by_order(body))
    if not isinstance(body, dict):
        invalid_answer("status", body, "expected an object keyed by order id")
    if len(asked) == 1 and _STATUS_FIELDS & body.keys() and "status" in body:
        # The single-order form of the convention: the status object itself.
        return {asked[0]: _status(asked[0], body)}
    outcomes: dict[int, OrderStatus | OrderError] = {}
    for order_id in asked:
        entry = body.get(str(order_id), _ABSENT)
        if entry is not _ABSENT:
            outcomes[order_id] = _status(order_id, entry)
    if len(outcomes) < len(asked) and len(body) > len(outcomes):
        # Keys spelled another way than ours ("007", " 7"): match them by value.
        wanted = set(asked)
        for key, entry in body.items():
            found = order_key(key)
            if found is not None and found in wanted and found not in outcomes:
                outcomes[found] = _status(found, entry)
    if not outcomes:
        # Not one asked order in it ({} or {"message": "busy"}): no answer at
        # all, rather than every order left out for good.
        invalid_answer("status", body, "none of the asked orders is in it")
    return outcomes
