"""The `toplist` command line: every action, a fake panel and a demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._client import DEFAULT_BASE_URL, ToplistClient
from .._exceptions import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    OrderError,
    OrderOutcomeUnknown,
    RateLimitError,
    ResponseValidationError,
    ToplistError,
)
from ._output import cell, json_text, outcome_table, table
from ._progress import Progress

__all__ = ["EXIT_CODES", "main"]

# Most specific first: the first class an error is an instance of decides.
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (AuthenticationError, 3),
    (BadRequestError, 4),
    (RateLimitError, 5),
    (APIConnectionError, 6),
    (InternalServerError, 7),
    (ResponseValidationError, 8),
    (OrderOutcomeUnknown, 9),
    (OrderError, 10),
    (ToplistError, 1),
    (ValueError, 2),
    (TypeError, 2),
]
_EPILOG = """exit codes: 0 ok, 1 other API error, 2 bad usage, 3 authentication,
4 request refused (validation, funds), 5 rate limited, 6 connection or timeout,
7 panel server error, 8 unreadable answer, 9 order outcome unknown,
10 some orders refused (status/cancel)"""


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand."""
    unset = None if defaults else argparse.SUPPRESS
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--api-key", default=unset, help="API key (default: $TOPLIST_API_KEY)"
    )
    parser.add_argument(
        "--base-url",
        default=unset,
        help=f"API URL (default: $TOPLIST_BASE_URL or {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="print JSON for scripts instead of tables",
    )
    parser.add_argument(
        "--allow-http",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="allow plain http:// to a remote host (the key travels unencrypted)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0 if defaults else argparse.SUPPRESS,
        help="seconds per request (default: 30)",
    )
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toplist",
        description="Talk to a toplistbot SMM panel (API v2) from the shell.",
        parents=[_common_options(defaults=True)],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = [_common_options(defaults=False)]

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=common)

    command("services", "list the services the panel sells")
    command("balance", "show the account's balance")
    add = command("add", "place an order and print its id")
    add.add_argument("--service", type=int, required=True)
    add.add_argument("--link")
    add.add_argument("--quantity", type=int)
    add.add_argument("--interval", type=int)
    add.add_argument("--runs", type=int)
    add.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra field of the service's type (repeatable), e.g. comments=...",
    )
    for name, text in (("status", "show orders' status"), ("cancel", "cancel orders")):
        sub = command(name, text)
        sub.add_argument("orders", nargs="+", metavar="ID", help="order ids")
    demo = command("demo", "run the SDK against a local fake panel: no account")
    demo.add_argument("--orders", type=int, default=300, help="orders to place")
    demo.add_argument("--seed", type=int, default=7, help="seed of the faults")
    demo.add_argument("--no-faults", action="store_true", help="a well-behaved panel")
    commands.add_parser(
        "fake-panel",
        help="serve a fake panel for tests and experiments (see: fake-panel --help)",
        add_help=False,
    )
    return parser


async def _run_action(args: argparse.Namespace) -> int:
    base_url = args.base_url or os.environ.get("TOPLIST_BASE_URL") or DEFAULT_BASE_URL
    api_key = args.api_key or os.environ.get("TOPLIST_API_KEY")
    if not api_key:
        msg = "no API key: pass --api-key or set TOPLIST_API_KEY"
        raise ValueError(msg)
    async with ToplistClient(
        api_key, base_url=base_url, timeout=args.timeout, allow_http=args.allow_http
    ) as client:
        result, text = await _ACTIONS[args.command](client, args)
    print(json_text(result) if args.json else text)
    if isinstance(result, dict):
        refused = sum(isinstance(o, OrderError) for o in result.values())
        if refused:
            print(
                f"toplist: {refused} of {len(result)} orders refused", file=sys.stderr
            )
            return 10
    return 0


async def _services(client: ToplistClient, args: argparse.Namespace) -> Output:
    services = await client.services()
    rows = [
        (s.service, s.name, s.category, s.rate, s.min, s.max, s.cancel)
        for s in services
    ]
    headers = ("id", "name", "category", "rate", "min", "max", "cancel")
    return services, table(headers, rows)


async def _balance(client: ToplistClient, args: argparse.Namespace) -> Output:
    balance = await client.balance()
    return balance, f"{cell(balance.balance)} {balance.currency}"


async def _add(client: ToplistClient, args: argparse.Namespace) -> Output:
    bad = [field for field in args.field if "=" not in field]
    if bad:
        msg = f"--field takes NAME=VALUE, not {bad[0]!r}"
        raise ValueError(msg)
    named = {name: getattr(args, name) for name in _ADD_OPTIONS}
    extra = dict(field.split("=", 1) for field in args.field)
    clash = sorted(extra.keys() & {"service", *_ADD_OPTIONS})
    if clash:
        msg = f"use --{clash[0]} instead of --field {clash[0]}=..."
        raise ValueError(msg)
    order = await client.add(service=args.service, **named, **extra)
    return order, str(order)


_ADD_OPTIONS = ("link", "quantity", "interval", "runs")


async def _status_or_cancel(client: ToplistClient, args: argparse.Namespace) -> Output:
    outcomes = await _many(client, args.command, args.orders)
    return outcomes, outcome_table(outcomes)


Output = tuple[object, str]
_ACTIONS: dict[
    str, Callable[[ToplistClient, argparse.Namespace], Awaitable[Output]]
] = {
    "services": _services,
    "balance": _balance,
    "add": _add,
    "status": _status_or_cancel,
    "cancel": _status_or_cancel,
}


async def _many(
    client: ToplistClient, command: str, orders: list[str]
) -> dict[int, Any]:
    ids = list(dict.fromkeys(orders))
    progress = Progress(command, len(ids))
    call = client.status if command == "status" else client.cancel

    async def one(order: str) -> tuple[str, object]:
        try:
            outcome: object = await call(order)  # type: ignore[arg-type]
        except OrderError as exc:
            outcome = exc
        progress.advance()
        return order, outcome

    try:
        pairs = await asyncio.gather(*(one(order) for order in ids))
    finally:
        progress.close()
    return {int(order): outcome for order, outcome in pairs}


def _subcommand_at(words: Sequence[str]) -> int | None:
    """Where the subcommand stands: the first word that is no option or value."""
    skip = False
    for where, word in enumerate(words):
        if skip:
            skip = False
        elif word in _VALUED_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            return where
    return None


_VALUED_OPTIONS = frozenset({"--api-key", "--base-url", "--timeout"})


def _exit_code(exc: BaseException) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `toplist` command; return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    where = _subcommand_at(words)
    if where is not None and words[where] == "fake-panel":
        # The fake panel has options of its own: hand it every word but its name.
        from ..testing import run as run_panel

        return run_panel(words[:where] + words[where + 1 :], prog="toplist fake-panel")
    args = _parser().parse_args(words)
    try:
        if args.command == "demo":
            from ._demo import run_demo

            return asyncio.run(
                run_demo(
                    orders=args.orders,
                    seed=args.seed,
                    faults=not args.no_faults,
                    as_json=args.json,
                )
            )
        return asyncio.run(_run_action(args))
    except KeyboardInterrupt:
        return 130
    except (ToplistError, ValueError, TypeError) as exc:
        print(f"toplist: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _exit_code(exc)
