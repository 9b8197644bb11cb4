"""
Turning the panel's JSON into the typed models, whatever dialect it speaks.

Bodies are decoded once by one msgspec decoder (floats become exact Decimals),
then each action's converter builds the frozen models. The converters accept
what real panels send: numbers as JSON numbers or strings, `"Unknown"` counts,
wrapper lists and objects, order ids as ints or strings. Status answers are
read in `_status_answers`, cancel answers in `_cancel_answers`.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, NoReturn

import msgspec

from ._exceptions import ResponseValidationError
from ._models import Balance, Service
from ._scalars import exact_number, flag, integer, money, order_key, text

__all__ = [
    "BALANCE_ANSWER",
    "NotJSON",
    "decode_as",
    "decode_json",
    "invalid_answer",
    "keyed_by_order",
    "to_balance",
    "to_order_id",
    "to_services",
    "unwrap_single",
    "unwrap_success",
]

logger = logging.getLogger("toplist_async")

_JSON = msgspec.json.Decoder(float_hook=exact_number)
_BOM = b"\xef\xbb\xbf"


# msgspec reports invalid UTF-8 inside a string as UnicodeDecodeError, and
# nesting deeper than the interpreter's stack as RecursionError.
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class NotJSON(Exception):
    """The body is not JSON at all (HTML, empty, cut off)."""


class BalanceAnswer(msgspec.Struct, gc=False):
    """A balance answer as panels write it, the amount a number or a string."""

    balance: Decimal
    currency: str | None = None


# The fast path of `balance()`: a 2xx answer that holds a balance carries data,
# never an error (the classifier reads an `error` beside it as data too).
BALANCE_ANSWER = msgspec.json.Decoder(BalanceAnswer)


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


def invalid_answer(action: str, body: object, why: str) -> NoReturn:
    msg = f"unexpected answer to {action!r}: {why}"
    raise ResponseValidationError(msg, status_code=200, body=body)


def unwrap_single(body: object) -> object:
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
        invalid_answer("services", body, "expected a list of services")
    services = []
    for entry in body:
        service = _service(entry)
        if isinstance(service, Service):
            services.append(service)
        else:
            logger.warning("services: left out %s", service)
    if body and not services:
        invalid_answer("services", body, "no service entry in it can be read")
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
    body = unwrap_single(body)
    if isinstance(body, dict):
        for field in ("order_id", "order"):
            order_id = order_key(body.get(field))
            if order_id is not None:
                return order_id
    invalid_answer("add", body, "no order id in it")


def to_balance(body: object) -> Balance:
    """Read `{"balance": "100.84", "currency": "USD"}`."""
    if type(body) is BalanceAnswer:
        if body.balance.is_finite():
            return Balance(balance=body.balance, currency=body.currency or "")
        body = msgspec.structs.asdict(body)
    body = unwrap_single(body)
    amount = money(body.get("balance")) if isinstance(body, dict) else None
    if amount is None or not isinstance(body, dict):
        invalid_answer("balance", body, "no finite balance in it")
    return Balance(balance=amount, currency=text(body.get("currency")))


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
