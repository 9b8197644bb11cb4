"""One poll's request, and the error an order dropped by the schedule is reported as."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ._batcher import Batcher
from ._exceptions import OrderError
from ._loaders import missing_order
from ._models import OrderStatus
from ._schedule import Ending, Schedule

__all__ = ["Load", "ending_error", "fetch"]

Load = Callable[[list[int]], Awaitable[dict[int, OrderStatus | OrderError]]]


async def fetch(
    statuses: Batcher[int, OrderStatus], alone: Load | None, keys: list[int]
) -> dict[int, OrderStatus | BaseException]:
    """
    One request's answers per order; a request failing whole gives each its error.

    Orders under suspicion go through `alone` (the loader itself), as the
    batcher would merge them back into full requests with healthy ones.
    """
    try:
        if alone is None:
            return await statuses.load_many(keys)
        answers = await alone(keys)
    except Exception as exc:  # each order gets the failure of its request
        return dict.fromkeys(keys, exc)
    return {key: answers.get(key) or missing_order(key) for key in keys}


def ending_error(key: int, ending: Ending, last: object, rules: Schedule) -> OrderError:
    """What an order dropped for `ending` is reported as."""
    if ending is Ending.MISSING:
        return missing_order(key)
    if ending is Ending.TIMEOUT:
        return OrderError(key, f"not final {rules.timeout:g} s after it was tracked")
    error = OrderError(key, f"every status request with this order failed: {last}")
    error.__cause__ = last if isinstance(last, BaseException) else None
    return error
