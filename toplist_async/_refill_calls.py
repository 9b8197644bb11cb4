"""`refill()` and `refill_status()`: the client's refill actions, batched."""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from functools import partial
from typing import Any

from ._arguments import order_id, order_ids
from ._batcher import Batcher
from ._exceptions import OrderError, RefillError
from ._loaders import Send, outcomes
from ._refill_models import RefillResult, RefillStatus
from ._refills import load_refill_statuses, load_refills, missing_refill
from ._stats import StatsCounter

__all__ = ["RefillCalls"]


class RefillCalls:
    """The refill actions `ToplistClient` offers; its batchers live here."""

    _refills: Batcher[int, RefillResult]
    _refill_statuses: Batcher[int, RefillStatus]

    def _start_refills(
        self, send: Send, stats: StatsCounter, batching: dict[str, Any]
    ) -> None:
        # A refill is a mutation: once sent it runs to its end, wanted or not.
        self._refills = Batcher(
            partial(load_refills, send, stats),
            action="refill",
            abandon_unwanted=False,
            **batching,
        )
        self._refill_statuses = Batcher(
            partial(load_refill_statuses, send, stats),
            action="refill_status",
            abandon_unwanted=True,
            **{**batching, "on_missing": missing_refill},
        )

    def refill(self, order: int) -> Coroutine[Any, Any, RefillResult]:
        """
        Ask the panel to refill an order; raise `OrderError` if it refuses.

        Batched like `cancel()` and, like it, sent once: a refill whose request
        may have reached the panel is never sent again. A bad id raises at
        once, before any await.
        """
        return self._refills.load(order_id(order))

    async def refill_many(
        self, orders: Iterable[int]
    ) -> dict[int, RefillResult | OrderError]:
        """
        Ask the panel to refill many orders; a refused id maps to `OrderError`.

        If some requests fail as a whole, `PartialBatchError.outcomes` says which
        refills went through; if all fail, their error is raised.
        """
        return outcomes(await self._refills.load_many(order_ids(orders)), OrderError)

    def refill_status(self, refill: int) -> Coroutine[Any, Any, RefillStatus]:
        """
        Get where one refill stands; raise `RefillError` if the panel rejects the id.

        Batched and retried like `status()`.
        """
        return self._refill_statuses.load(order_id(refill, what="a refill id"))

    async def refill_status_many(
        self, refills: Iterable[int]
    ) -> dict[int, RefillStatus | RefillError]:
        """Get where many refills stand; a rejected id maps to its `RefillError`."""
        ids = order_ids(refills)
        return outcomes(await self._refill_statuses.load_many(ids), RefillError)
