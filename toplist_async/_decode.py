"""
Turning the panel's JSON into the typed models, whatever dialect it speaks.

Bodies are decoded once by one msgspec decoder (floats become exact Decimals),
then each action's converter builds the frozen models. The converters accept
what real panels send: numbers as JSON numbers or strings, `"Unknown"` counts,
wrapper lists and objects, order ids as ints or strings.
"""

from __future__ import annotations

import logging
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
    "BALANCE_ANSWER",
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
    "unwrap_success",
]

logger = logging.getLogger("toplist_async")

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


class BalanceAnswer(msgspec.Struct, gc=False):
    """A balance answer as panels write it, the amount a number or a string."""

    balance: Decimal
    currency: str | None = None


# The fast path of `balance()`: a 2xx answer that holds a balance carries data,
# never an error (the classifier reads an `error` beside it as data too).
BALANCE_ANSWER = msgspec.json.Decoder(BalanceAnswer)
# Longer digit strings are no count; `integer` decides what they are.
_MAX_FAST_DIGITS = 18


def _count(value: str) -> int | None:
    """A count the fast path got as a string, read exactly as `integer` reads it."""
    if value.isdecimal() and len(value) <= _MAX_FAST_DIGITS:
        return int(value)  # "3572": what `integer` would make of it, sooner
    return integer(value)


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


def unwrap_success(body: object) -> object:
    """
    The data of a `{"status": "success", "data": ...}` answer; others unchanged.

    `"data": "Empty Data"` is how such panels say the list is empty.
    """
    if (
        isinstance(body, dict)
        and "data" in body
        and isinstance(body.get("status"), str)
        and body["status"].casefold() == "success"
        and body.keys() <= _SUCCESS_ENVELOPE
    ):
        data = body["data"]
        if isinstance(data, str) and data.strip().casefold() == "empty data":
            return []
        return data
    return body


_SUCCESS_ENVELOPE = frozenset({"status", "data", "message", "code"})


def to_services(body: object) -> list[Service]:
    """
    Build the catalogue from `[{...}]` or `{"services": [{...}]}`.

    An entry with a field that cannot be read exactly (a `max` of "50.000",
    which is 50 on one panel and 50,000 on another) is left out with a warning
    on the `toplist_async` logger, so it never hides the other services; a
    catalogue where no entry can be read is refused.
    """
    if isinstance(body, dict) and isinstance(body.get("services"), list):
        body = body["services"]
    if not isinstance(body, list):
        _invalid("services", body, "expected a list of services")
    services = []
    for entry in body:
        service = _service(entry)
        if isinstance(service, Service):
            services.append(service)
        else:
            logger.warning("services: left out %s", service)
    if body and not services:
        _invalid("services", body, "no service entry in it can be read")
    return services


def _service(entry: object) -> Service | str:
    """One catalogue entry, or why it cannot be read."""
    if not isinstance(entry, dict):
        return f"an entry that is not an object: {entry!r:.80}"
    service_id = integer(entry.get("service"))
    rate = money(entry.get("rate"))
    low, high = integer(entry.get("min")), integer(entry.get("max"))
    if service_id is None or rate is None or low is None or high is None:
        unread = [
            f"{name}={entry.get(name)!r:.40}"
            for name, value in (
                ("service", service_id),
                ("rate", rate),
                ("min", low),
                ("max", high),
            )
            if value is None
        ]
        return f"service {entry.get('service')!r:.40}: cannot read {', '.join(unread)}"
    return Service(
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
    if type(body) is BalanceAnswer:
        if body.balance.is_finite():
            return Balance(balance=body.balance, currency=body.currency or "")
        body = msgspec.structs.asdict(body)
    body = _unwrap(body)
    amount = money(body.get("balance")) if isinstance(body, dict) else None
    if amount is None or not isinstance(body, dict):
        _invalid("balance", body, "no finite balance in it")
    return Balance(balance=amount, currency=text(body.get("currency")))


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
    body = _unwrap(keyed_by_order(body))
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


def keyed_by_order(body: object, field: str = "order") -> object:
    """`[{"order": 1, ...}, ...]` as `{"1": {...}, ...}`; other answers unchanged."""
    if not isinstance(body, list) or not body:
        return body
    keyed: dict[str, object] = {}
    for entry in body:
        if not isinstance(entry, dict) or entry.get(field) is None:
            return body
        keyed[str(entry[field]).strip()] = entry
    return keyed


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
        outcomes[order_id] = _cancel(order_id, entry)
    return outcomes


def _cancel(order_id: int, entry: dict[str, Any]) -> CancelResult | OrderError:
    """
    Only a `cancel` carrying an error is a refusal.

    `1`, `true`, `{"status": "Canceled"}` and `{"refund": ...}` are accepted
    cancels, and what they say is kept.
    """
    accepted = entry.get("cancel")
    if entry.get("error") or (isinstance(accepted, dict) and accepted.get("error")):
        message = error_text(accepted if isinstance(accepted, dict) else entry)
        return OrderError(order_id, message, body=entry)
    if isinstance(accepted, dict):
        status = accepted.get("status")
        refund = accepted.get("refund", entry.get("refund"))
        return CancelResult(
            order_id=order_id,
            refund=money(refund),
            status=None if status is None else text(status),
        )
    if flag(accepted):
        return CancelResult(order_id=order_id, refund=money(entry.get("refund")))
    if isinstance(accepted, str) and accepted.strip():
        return OrderError(order_id, accepted, body=entry)
    message = f"the panel did not accept the cancel ({accepted!r})"
    return OrderError(order_id, message, body=entry)
