"""Checking and normalising the order ids callers pass, before anything is sent."""

from __future__ import annotations

import operator
from collections.abc import Iterable

__all__ = ["order_id", "order_ids"]


def order_id(value: object) -> int:
    """Return `value` as a positive int order id, or raise `TypeError`/`ValueError`."""
    if isinstance(value, bool):
        msg = f"an order id must be an int or a numeric string, not {value!r}"
        raise TypeError(msg)
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            msg = f"an order id must be a positive whole number, not {value!r}"
            raise ValueError(msg)
        number = int(text)
    else:
        try:
            number = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            msg = (
                "an order id must be an int or a numeric string, "
                f"not {type(value).__name__} {value!r}"
            )
            raise TypeError(msg) from None
    if number <= 0:
        msg = f"an order id must be positive, not {value!r}"
        raise ValueError(msg)
    return number


def order_ids(values: Iterable[object]) -> list[int]:
    """Check every id, drop duplicates (keeping the first's place), refuse none."""
    if isinstance(values, str | bytes):
        msg = f"pass a list of order ids, not the string {values!r}"
        raise TypeError(msg)
    ids = list(dict.fromkeys(order_id(value) for value in values))
    if not ids:
        msg = "no order ids given"
        raise ValueError(msg)
    return ids
