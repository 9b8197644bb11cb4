"""`toplist watch ID...`: follow orders until every one is final."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import Any

from .._client import ToplistClient
from .._exceptions import OrderError
from .._models import OrderStatus
from ._commands import order_ids
from ._output import OUTCOME_HEADERS, json_text, outcome_rows
from ._screen import Activity, Screen

__all__ = ["watch"]

_NUMERIC = ("order", "remains", "charge/refund")


def _ids(args: argparse.Namespace) -> list[int]:
    words = list(args.orders)
    if not words or words == ["-"]:
        if sys.stdin.isatty():
            args.parser.error("give order ids, or pipe them in (one per line)")
        words = sys.stdin.read().split()
    return order_ids(args, words)


async def watch(client: ToplistClient, args: argparse.Namespace, screen: Screen) -> int:
    """
    Print each order's updates until all are final: a live table on a terminal,
    one JSON line per update with `--json`, else one line per finished order.
    """
    ids = _ids(args)
    latest: dict[int, Any] = dict.fromkeys(ids)
    activity = Activity("final", len(ids))
    table = (
        nullcontext(None) if args.json else screen.live_table(OUTCOME_HEADERS, _NUMERIC)
    )
    with screen.feed(activity), table as live:
        async for update in client.watch(ids, interval=args.poll):
            latest[update.order_id] = update
            final = isinstance(update, OrderError) or (
                isinstance(update, OrderStatus) and update.is_final
            )
            if final:
                activity.advance()
            if args.json:
                screen.result(json_text(update))
            elif live is not None:
                live(_rows(latest), activity.text())
            elif final:
                screen.row(outcome_rows({update.order_id: update})[0])
    refused = sum(isinstance(o, OrderError) for o in latest.values())
    if refused:
        screen.error(f"toplist: {refused} of {len(latest)} orders refused")
        return 10
    return 0


def _rows(latest: dict[int, Any]) -> list[tuple[object, ...]]:
    rows = outcome_rows({k: v for k, v in latest.items() if v is not None})
    unseen = [order for order, outcome in latest.items() if outcome is None]
    return rows + [(order, "waiting", None, None, None, None) for order in unseen]
