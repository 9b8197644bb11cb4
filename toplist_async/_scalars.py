"""
Lenient readers of the panel's scalars: numbers as JSON numbers or strings,
flags as booleans, 0/1 or words, texts that may be missing.

Each returns None (or a neutral value) for what it cannot read exactly, so one
odd field never fails a whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

__all__ = [
    "error_text",
    "exact_number",
    "flag",
    "integer",
    "money",
    "order_key",
    "text",
]

# Longer numbers are no count or id of a panel, and turning them into ints is
# slow enough (a billion digits from "1e999999999") to freeze the event loop.
_MAX_DIGITS = 4000
_NOT_A_NUMBER = Decimal("NaN")


def exact_number(literal: str) -> Decimal:
    """JSON numbers become exact Decimals; absurd exponents become NaN."""
    try:
        return Decimal(literal)
    except InvalidOperation:
        return _NOT_A_NUMBER


_INTEGER = re.compile(r"[+-]?\d+")
# "50.000" is 50 on one panel and 50,000 on another (thousands separator):
# a count written with exactly three decimals is not guessed.
_AMBIGUOUS_THOUSANDS = re.compile(r"\d{1,3}\.\d{3}")


def integer(value: object) -> int | None:
    """A whole number from 3572, "3572" or 3572.0; None for "Unknown" or "1.000"."""
    if type(value) is int:
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > _MAX_DIGITS:
            return None
        return int(value) if value == value.to_integral() else None
    if isinstance(value, str):
        digits = value.strip()
        if len(digits) > _MAX_DIGITS:
            return None
        if _INTEGER.fullmatch(digits):
            return int(digits)
        if not _AMBIGUOUS_THOUSANDS.fullmatch(digits):
            return integer(money(digits))
    return None


def money(value: object) -> Decimal | None:
    """An exact, finite Decimal from a number or a numeric string, else None."""
    if type(value) is int:
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def flag(value: object) -> bool:
    """True for true, 1, "1", "true", "yes"; False for anything else."""
    if isinstance(value, str):
        return value.strip().casefold() in {"1", "true", "yes"}
    return value is True or (type(value) is int and value != 0)


def text(value: object) -> str:
    """A string, "" for a missing value."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def order_key(value: object) -> int | None:
    """A positive order id from 123 or "123", else None."""
    order_id = integer(value)
    return order_id if order_id is not None and order_id > 0 else None


def error_text(value: object) -> str:
    """The message of an error value: a string, or an object's message/error."""
    if isinstance(value, Mapping):
        return text(value.get("message") or value.get("error") or value)
    return text(value)
