"""Checking and normalising what callers pass, before anything is sent."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NoReturn

__all__ = ["MAX_ID", "order_fields", "order_id", "order_ids"]

_RESERVED_FIELDS = frozenset({"key", "action"})
# Panels keep ids in signed 64-bit columns. A larger id is refused when it is
# passed, so it can never fail the batch it would join (a 5,000-digit int
# cannot even be written out).
MAX_ID = 2**63 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
_SHOWN_BITS = 256
_SHOWN_CHARS = 40


def order_id(value: object, *, what: str = "an order id") -> int:
    """Return `value` as an int id in 1..2**63-1, or raise `TypeError`/`ValueError`."""
    if type(value) is int and 0 < value <= MAX_ID:
        return value
    if isinstance(value, bool):
        msg = f"{what} must be an int or a numeric string, not {value!r}"
        raise TypeError(msg)
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            msg = f"{what} must be a positive whole number, not {_shown(value)}"
            raise ValueError(msg)
        if len(text.lstrip("0")) > _MAX_ID_DIGITS:
            _too_large(what, value)
        number = int(text)
    else:
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            msg = (
                f"{what} must be an int or a numeric string, "
                f"not {type(value).__name__} {_shown(value)}"
            )
            raise TypeError(msg) from None
    if number <= 0:
        msg = f"{what} must be positive, not {_shown(value)}"
        raise ValueError(msg)
    if number > MAX_ID:
        _too_large(what, value)
    return number


def _too_large(what: str, value: object) -> NoReturn:
    msg = f"{what} must be at most 2**63 - 1, not {_shown(value)}"
    raise ValueError(msg)


def _shown(value: object) -> str:
    """A short repr: an int of 5,000 digits cannot even be turned into text."""
    if isinstance(value, int) and value.bit_length() > _SHOWN_BITS:
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}..."


def order_ids(values: Iterable[object]) -> list[int]:
    """Check every id, drop duplicates (keeping the first's place), refuse none."""
    if isinstance(values, str | bytes | bytearray | memoryview):
        msg = f"pass a list of order ids, not the string {values!r}"
        raise TypeError(msg)
    ids = list(dict.fromkeys(order_id(value) for value in values))
    if not ids:
        msg = "no order ids given"
        raise ValueError(msg)
    return ids


def order_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """
    The fields of an `add` as they go on the wire.

    None values are left out, booleans become 1/0 and a list is sent one
    entry per line (comments, usernames), so an entry may not hold a line
    break; `key` and `action` are refused.
    """
    reserved = _RESERVED_FIELDS & fields.keys()
    if reserved:
        msg = f"{', '.join(sorted(reserved))} cannot be set by the caller"
        raise ValueError(msg)
    return {
        name: _wire_value(name, value)
        for name, value in fields.items()
        if value is not None
    }


# What a form field or a JSON scalar can carry without guessing: anything else
# would go out as its repr under form encoding.
_SCALARS = (str, int, float, Decimal)


def _wire_value(name: str, value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | tuple) and all(
        isinstance(item, _SCALARS) for item in value
    ):
        entries = [str(item) for item in value]
        for entry in entries:
            # The panel splits the joined text on line breaks: an entry holding
            # one would become two comments (or usernames).
            if "\n" in entry or "\r" in entry:
                msg = f"an entry of {name} contains a line break: {entry!r}"
                raise ValueError(msg)
        return "\n".join(entries)
    if isinstance(value, _SCALARS):
        return value
    kind = type(value).__name__
    msg = f"field {name!r} must be a string, a number or a list of them, not {kind}"
    raise TypeError(msg)
