"""The `toplist` command: running one command to its end, errors in words."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .._client import DEFAULT_BASE_URL, ToplistClient
from .._dialect_options import dialect_from
from .._exceptions import ToplistError
from .._logs import StderrHandler, logger
from ._commands import COMMANDS, Command
from ._errors import EXIT_CODES, Problem, describe
from ._fleet import FLEET_COMMANDS, PANEL_FREE, fleet_options
from ._parser import Parser, build_parser, subcommand_at
from ._refill import refill, refill_status
from ._screen import Screen
from ._watch import watch

__all__ = ["EXIT_CODES", "main"]

_ALL_COMMANDS: dict[str, Command] = {
    **COMMANDS,
    "watch": watch,
    "refill": refill,
    "refill-status": refill_status,
    **FLEET_COMMANDS,
}
# What a client needs a key for, when the command never reaches the panel.
_UNUSED_KEY = "unused-by-this-command"


class _Run:
    """One command's run: its client, so an error can say how many tries it took."""

    def __init__(self, args: argparse.Namespace, screen: Screen) -> None:
        self.args = args
        self.screen = screen
        self.client: ToplistClient | None = None

    async def __call__(self) -> int:
        args = self.args
        api_key = args.api_key or os.environ.get("TOPLIST_API_KEY")
        if not api_key and args.command in PANEL_FREE:
            api_key = _UNUSED_KEY
        if not api_key:
            args.parser.error("no API key: pass --api-key or set TOPLIST_API_KEY")
        base_url = args.base_url or os.environ.get("TOPLIST_BASE_URL")
        try:
            dialect = dialect_from(args)
        except ValueError as exc:
            args.parser.error(str(exc))
        async with (
            fleet_options(args) as options,
            ToplistClient(
                api_key,
                base_url=base_url or DEFAULT_BASE_URL,
                timeout=args.timeout,
                allow_http=args.allow_http,
                encoding=args.encoding,
                dialect=dialect,
                **options,
            ) as client,
        ):
            self.client = client
            return await _ALL_COMMANDS[args.command](client, args, self.screen)

    def tries(self) -> int:
        requests = self.client.stats.requests if self.client else {}
        return max(sum(requests.values()), 1)

    def interrupted(self) -> int:
        client = self.client
        if self.args.command == "add" and client and client.stats.requests.get("add"):
            self.screen.error(
                "toplist: interrupted after the order was sent: it may have "
                "been placed; check `toplist status` or the panel's order "
                "list before placing it again"
            )
        return 130


def _report(problem: Problem, args: argparse.Namespace, screen: Screen) -> int:
    if args.json:
        sys.stderr.write(problem.json() + "\n")
    else:
        screen.error(problem.line())
    return problem.code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `toplist` command; return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    where = subcommand_at(words)
    if where is not None and words[where] == "fake-panel":
        # The fake panel has options of its own: hand it every word but its name.
        from ..testing import run as run_panel

        return run_panel(words[:where] + words[where + 1 :], prog="toplist fake-panel")
    Parser.json_errors = "--json" in words
    args = build_parser().parse_args(words)
    with _verbosity(args.verbose):
        return _run(args)


@contextmanager
def _verbosity(verbose: int) -> Iterator[None]:
    """`-v`: print the SDK's INFO log (`-vv`: DEBUG) for this run only."""
    if not verbose:
        yield
        return
    level = logging.DEBUG if verbose > 1 else logging.INFO
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("toplist: %(message)s"))
    before = logger.level
    logger.setLevel(min(logger.getEffectiveLevel(), level))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def _run(args: argparse.Namespace) -> int:
    screen = Screen()
    run = _Run(args, screen)
    try:
        if args.command == "demo":
            from ._demo import run_demo

            report = run_demo(
                orders=args.orders,
                seed=args.seed,
                faults=not args.no_faults,
                as_json=args.json,
                screen=screen,
            )
            return asyncio.run(report)
        return asyncio.run(run())
    except KeyboardInterrupt:
        return run.interrupted()
    except BrokenPipeError:
        # `toplist services | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ToplistError, ValueError, TypeError) as exc:
        if args.verbose > 1:
            traceback.print_exc()
        timeout = float(args.timeout)
        return _report(describe(exc, timeout=timeout, tries=run.tries()), args, screen)
