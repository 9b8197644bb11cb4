"""The commands that talk to a panel: services, balance, add, status, cancel."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .._arguments import order_id
from .._client import ToplistClient
from .._exceptions import OrderError
from ._output import OUTCOME_HEADERS, cell, json_text, outcome_rows
from ._screen import Activity, Screen

__all__ = ["COMMANDS", "Command", "each", "order_ids", "waiting"]

T = TypeVar("T")
Command = Callable[[ToplistClient, argparse.Namespace, Screen], Awaitable[int]]
_SEPARATORS = re.compile(r"[\s,]+")
ADD_OPTIONS = ("link", "quantity", "interval", "runs")


async def waiting(screen: Screen, activity: Activity, work: Awaitable[T]) -> T:
    """Await `work` while a terminal shows what it waits for (retries included)."""
    with screen.feed(activity):
        shown = asyncio.create_task(screen.show(activity))
        try:
            return await work
        finally:
            shown.cancel()
            await asyncio.wait([shown])


async def each(
    screen: Screen,
    activity: Activity,
    ids: list[int],
    call: Callable[[int], Awaitable[Any]],
    refused: type[Exception],
) -> dict[int, Any]:
    """Every id's answer, or its `refused` error, asked at once (the client batches)."""

    async def one(key: int) -> tuple[int, Any]:
        try:
            outcome: object = await call(key)
        except refused as exc:
            outcome = exc
        activity.advance()
        return key, outcome

    work = asyncio.gather(*(one(key) for key in ids))
    return dict(await waiting(screen, activity, work))


def order_ids(args: argparse.Namespace, words: Sequence[str]) -> list[int]:
    """Order ids from words (spaces or commas apart), or a usage error."""
    ids: list[int] = []
    for word in words:
        for part in _SEPARATORS.split(word.strip()):
            if part:
                try:
                    ids.append(order_id(part))
                except (TypeError, ValueError) as exc:
                    args.parser.error(f"argument ID: {exc}")
    if not ids:
        args.parser.error("no order ids given")
    return list(dict.fromkeys(ids))


async def _services(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    services = await waiting(screen, Activity("services"), client.services())
    if args.json:
        screen.result(json_text(services))
        return 0
    rows = [
        (
            s.service,
            s.name,
            s.type,
            s.category,
            s.rate,
            s.min,
            s.max,
            s.refill,
            s.cancel,
        )
        for s in services
    ]
    headers = ("id", "name", "type", "category", "rate", "min", "max", "refill")
    screen.table((*headers, "cancel"), rows, numeric=("id", "rate", "min", "max"))
    return 0


async def _balance(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    balance = await waiting(screen, Activity("balance"), client.balance())
    text = f"{cell(balance.balance)} {cell(balance.currency)}"
    screen.result(json_text(balance) if args.json else text)
    return 0


async def _add(client: ToplistClient, args: argparse.Namespace, screen: Screen) -> int:
    bad = [field for field in args.field if "=" not in field]
    if bad:
        args.parser.error(f"--field takes NAME=VALUE, not {bad[0]!r}")
    named = {name: getattr(args, name) for name in ADD_OPTIONS}
    extra = dict(field.split("=", 1) for field in args.field)
    clash = sorted(extra.keys() & {"service", *ADD_OPTIONS})
    if clash:
        args.parser.error(f"use --{clash[0]} instead of --field {clash[0]}=...")
    order = client.add(service=args.service, **named, **extra)
    placed = await waiting(screen, Activity("add"), order)
    screen.result(json_text(placed) if args.json else str(placed))
    return 0


async def _status_or_cancel(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    ids = order_ids(args, args.orders)
    call = client.status if args.command == "status" else client.cancel
    activity = Activity(args.command, len(ids))
    outcomes = await each(screen, activity, ids, call, OrderError)
    if args.json:
        screen.result(json_text(outcomes))
    else:
        numeric = ("order", "remains", "charge/refund")
        screen.table(OUTCOME_HEADERS, outcome_rows(outcomes), numeric=numeric)
    refused = sum(isinstance(o, OrderError) for o in outcomes.values())
    if refused:
        screen.error(f"toplist: {refused} of {len(outcomes)} orders refused")
        return 10
    return 0


COMMANDS: dict[str, Command] = {
    "services": _services,
    "balance": _balance,
    "add": _add,
    "status": _status_or_cancel,
    "cancel": _status_or_cancel,
}
