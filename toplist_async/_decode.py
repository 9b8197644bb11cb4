"""
Turning the panel's JSON into the typed models, whatever dialect it speaks.

Bodies are decoded once by one msgspec decoder (floats become exact Decimals),
then each action's converter builds the frozen models. The converters accept
what real panels send: numbers as JSON numbers or strings, `"Unknown"` counts,
wrapper lists and objects, order ids as ints or strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NoReturn

import msgspec

from ._exceptions import OrderError, ResponseValidationError
from ._models import (
    Balance,
    CancelResult,
    OrderStatus,
    Service,
    parse_state,
)
from ._scalars import (
    error_text,
    exact_number,
    flag,
    integer,
    money,
    order_key,
    text,
)

__all__ = [
    "STATUS_ENTRIES",
    "NotJSON",
    "StatusEntry",
    "decode_as",
    "decode_json",
    "to_balance",
    "to_cancels",
    "to_order_id",
    "to_services",
    "to_statuses",
]

_JSON = msgspec.json.Decoder(float_hook=exact_number)
_ABSENT = object()
_STATUS_FIELDS = frozenset({"charge", "start_count", "remains", "currency"})
_BOM = b"\xef\xbb\xbf"


# msgspec reports invalid UTF-8 inside a string as UnicodeDecodeError, and
# nesting deeper than the interpreter's stack as RecursionError.
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class NotJSON(Exception):
    """The body is not JSON at all (HTML, empty, cut off)."""


class StatusEntry(msgspec.Struct, gc=False):
    """One status entry exactly as toplistbot documents it: the fast path."""

    status: str
    charge: Decimal | None = None
    start_count: int | None = None
    remains: int | None = None
    currency: str | None = None
    error: None = None


# Decodes the documented status answer straight into structs. Anything else
# (counts as strings, per-order errors, error envelopes) fails it and takes the
# tolerant path instead; a charge may be a string here, as Decimal reads both.
STATUS_ENTRIES = msgspec.json.Decoder(dict[str, StatusEntry])


def decode_as(raw: bytes, decoder: msgspec.json.Decoder[Any]) -> Any | None:
    """Decode with a typed decoder, or return None if the body does not fit it."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return decoder.decode(raw)
    except _UNDECODABLE:
        return None


def decode_json(raw: bytes) -> Any:
    """Decode a body, tolerating a UTF-8 BOM; raise `NotJSON` if it is not JSON."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return _JSON.decode(raw)
    except _UNDECODABLE as exc:
        raise NotJSON(str(exc)) from None


def _invalid(action: str, body: object, why: str) -> NoReturn:
    msg = f"unexpected answer to {action!r}: {why}"
    raise ResponseValidationError(msg, status_code=200, body=body)


def _unwrap(body: object) -> object:
    """Some panels wrap a single answer in a list: `[{"order": 1}]`."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        return body[0]
    return body


def to_services(body: object) -> list[Service]:
    """Build the catalogue from `[{...}]` or `{"services": [{...}]}`."""
    if isinstance(body, dict) and isinstance(body.get("services"), list):
        body = body["services"]
    if not isinstance(body, list):
        _invalid("services", body, "expected a list of services")
    services = []
    for entry in body:
        if not isinstance(entry, dict):
            _invalid("services", body, f"service entry {entry!r} is not an object")
        service_id = integer(entry.get("service"))
        rate = money(entry.get("rate"))
        low, high = integer(entry.get("min")), integer(entry.get("max"))
        if service_id is None or rate is None or low is None or high is None:
            _invalid("services", body, f"service entry {entry!r} lacks a field")
        services.append(
            Service(
                service=service_id,
                name=text(entry.get("name")),
                type=text(entry.get("type")),
                category=text(entry.get("category")),
                rate=rate,
                min=low,
                max=high,
                refill=flag(entry.get("refill")),
                cancel=flag(entry.get("cancel")),
            )
        )
    return services


def to_order_id(body: object) -> int:
    """Read the new order's id from `{"order_id": 1}`, `{"order": "1"}` or a list."""
    body = _unwrap(body)
    if isinstance(body, dict):
        for field in ("order_id", "order"):
            order_id = order_key(body.get(field))
            if order_id is not None:
                return order_id
    _invalid("add", body, "no order id in it")


def to_balance(body: object) -> Balance:
    """Read `{"balance": "100.84", "currency": "USD"}`."""
    body = _unwrap(body)
    amount = money(body.get("balance")) if isinstance(body, dict) else None
    if amount is None or not isinstance(body, dict):
        _invalid("balance", body, "no finite balance in it")
    return Balance(balance=amount, currency=text(body.get("currency")))


def _status(order_id: int, entry: object) -> OrderStatus | OrderError:
    if type(entry) is StatusEntry:
        charge = entry.charge
        return OrderStatus(
            order_id=order_id,
            charge=charge if charge is None or charge.is_finite() else None,
            start_count=entry.start_count,
            status=parse_state(entry.status),
            raw_status=entry.status,
            remains=entry.remains,
            currency=entry.currency,
        )
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
    body = _unwrap(body)
    if not isinstance(body, dict):
        _invalid("status", body, "expected an object keyed by order id")
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
        _invalid("status", body, "none of the asked orders is in it")
    return outcomes


def to_cancels(
    body: object, order_ids: Iterable[int]
) -> dict[int, CancelResult | OrderError]:
    """Read `[{"order": "1", "cancel": 1, "refund": 1.5}]` into an outcome per id."""
    wanted = set(order_ids)
    if isinstance(body, dict) and "order" in body:
        body = [body]  # one cancel answered on its own
    elif isinstance(body, dict):
        body = [
            {"order": key, **value}
            for key, value in body.items()
            if isinstance(value, dict)
        ]
    if not isinstance(body, list):
        _invalid("cancel", body, "expected a list of cancel results")
    outcomes: dict[int, CancelResult | OrderError] = {}
    for entry in body:
        if not isinstance(entry, dict):
            continue
        order_id = order_key(entry.get("order", entry.get("order_id")))
        if order_id is None or order_id not in wanted:
            continue
        accepted = entry.get("cancel")
        if isinstance(accepted, dict) or entry.get("error"):
            message = error_text(accepted if isinstance(accepted, dict) else entry)
            outcomes[order_id] = OrderError(order_id, message, body=entry)
        elif flag(accepted):
            refund = money(entry.get("refund"))
            outcomes[order_id] = CancelResult(order_id=order_id, refund=refund)
        else:
            message = f"the panel did not accept the cancel ({accepted!r})"
            outcomes[order_id] = OrderError(order_id, message, body=entry)
    return outcomes
