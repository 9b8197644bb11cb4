"""`toplist refill` and `toplist refill-status`: ask for refills, follow them."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .._client import ToplistClient
from .._exceptions import OrderError, RefillError
from .._refill_models import RefillResult
from ._commands import order_ids, waiting
from ._output import json_text
from ._screen import Activity, Screen

__all__ = ["refill", "refill_status"]


async def _each(
    screen: Screen,
    activity: Activity,
    ids: list[int],
    call: Callable[[int], Awaitable[Any]],
    refused: type[Exception],
) -> dict[int, Any]:
    """Every id's answer or refusal, asked concurrently (the client batches)."""

    async def one(key: int) -> tuple[int, Any]:
        try:
            outcome: object = await call(key)
        except refused as exc:
            outcome = exc
        activity.advance()
        return key, outcome

    work = asyncio.gather(*(one(key) for key in ids))
    return dict(await waiting(screen, activity, work))


def _finish(screen: Screen, outcomes: dict[int, Any], what: str) -> int:
    refused = sum(isinstance(o, OrderError | RefillError) for o in outcomes.values())
    if refused:
        screen.error(f"toplist: {refused} of {len(outcomes)} {what} refused")
        return 10
    return 0


async def refill(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    """Ask the panel to refill orders; print each refill's id or the refusal."""
    ids = order_ids(args, args.orders)
    activity = Activity("refill", len(ids))
    outcomes = await _each(screen, activity, ids, client.refill, OrderError)
    if args.json:
        screen.result(json_text(outcomes))
    else:
        rows = [
            (order, o.refill_id, None)
            if isinstance(o, RefillResult)
            else (order, None, o.message)
            for order, o in outcomes.items()
        ]
        screen.table(("order", "refill", "refused"), rows, numeric=("order", "refill"))
    return _finish(screen, outcomes, "orders")


async def refill_status(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    """Show where refills stand; a refill id the panel refuses says why."""
    ids = order_ids(args, args.refills)
    activity = Activity("refill_status", len(ids))
    outcomes = await _each(screen, activity, ids, client.refill_status, RefillError)
    if args.json:
        screen.result(json_text(outcomes))
    else:
        rows = [
            (key, None, o.message)
            if isinstance(o, RefillError)
            else (key, o.raw_status, None)
            for key, o in outcomes.items()
        ]
        screen.table(("refill", "status", "refused"), rows, numeric=("refill",))
    return _finish(screen, outcomes, "refills")
