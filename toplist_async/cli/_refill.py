"""`toplist refill` and `toplist refill-status`: ask for refills, follow them."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from .._client import ToplistClient
from .._exceptions import APIError, OrderError, RefillError
from ._commands import each, order_ids
from ._output import json_text
from ._screen import Activity, Screen

__all__ = ["refill", "refill_status"]


async def _ask(
    args: argparse.Namespace,
    screen: Screen,
    call: Callable[[int], Awaitable[Any]],
    refused: type[APIError],
    columns: tuple[str, str],
    shown: Callable[[Any], object],
) -> int:
    """Ask for every id at once; print each answer (`shown`) or refusal."""
    ids = order_ids(args, args.ids)
    outcomes = await each(screen, Activity(args.command, len(ids)), ids, call, refused)
    if args.json:
        screen.result(json_text(outcomes))
    else:
        rows = [
            (key, None, o.message) if isinstance(o, refused) else (key, shown(o), None)
            for key, o in outcomes.items()
        ]
        screen.table((*columns, "refused"), rows, numeric=columns[:1])
    count = sum(isinstance(o, refused) for o in outcomes.values())
    if count:
        what = "orders" if refused is OrderError else "refills"
        screen.error(f"toplist: {count} of {len(outcomes)} {what} refused")
        return 10
    return 0


async def refill(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    """Ask the panel to refill orders; print each refill's id or the refusal."""
    columns = ("order", "refill")
    return await _ask(
        args, screen, client.refill, OrderError, columns, lambda r: r.refill_id
    )


async def refill_status(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    """Show where refills stand; a refill id the panel refuses says why."""
    columns = ("refill", "status")
    return await _ask(
        args, screen, client.refill_status, RefillError, columns, lambda s: s.raw_status
    )
