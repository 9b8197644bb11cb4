"""The `toplist` command line: its options, and running one command to its end."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from .._client import DEFAULT_BASE_URL, ToplistClient
from .._dialect_options import DIALECT_OPTIONS, add_dialect_arguments, dialect_from
from .._exceptions import ToplistError
from .._logs import StderrHandler, logger
from .._version import __version__
from ._commands import ADD_OPTIONS, COMMANDS, Command
from ._errors import EPILOG, EXIT_CODES, Problem, describe
from ._fleet import FLEET_COMMANDS, PANEL_FREE, add_fleet_commands, fleet_options
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
_ADD_HELP = {
    "link": ("URL", "the page, post or profile the order is for"),
    "quantity": ("N", "how many, within the service's min and max"),
    "interval": ("MINUTES", "drip-feed: minutes between two runs"),
    "runs": ("N", "drip-feed: how many runs (quantity is per run)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are a JSON object on stderr under `--json`."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            problem = Problem(message, f"see {self.prog} --help", 2, "UsageError")
            self.exit(2, problem.json() + "\n")
        super().error(message)


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options taken before or after the command; listed in the main help only."""

    def shown(text: str) -> str:
        return text if top else argparse.SUPPRESS

    unset = None if top else argparse.SUPPRESS
    no = False if top else argparse.SUPPRESS
    add = parser.add_argument
    add("--api-key", default=unset, help=shown("API key (default: $TOPLIST_API_KEY)"))
    add(
        "--base-url",
        default=unset,
        metavar="URL",
        help=shown(f"API URL (default: $TOPLIST_BASE_URL or {DEFAULT_BASE_URL})"),
    )
    add("--json", action="store_true", default=no, help=shown("print JSON for scripts"))
    add(
        "--allow-http",
        action="store_true",
        default=no,
        help=shown(
            "allow plain http:// to a remote host (the key travels unencrypted)"
        ),
    )
    add(
        "--timeout",
        type=float,
        default=30.0 if top else argparse.SUPPRESS,
        metavar="SECONDS",
        help=shown("seconds per request (default: 30)"),
    )
    add(
        "--encoding",
        choices=("form", "json"),
        default="form" if top else argparse.SUPPRESS,
        help=shown("how request bodies are sent (default: form)"),
    )
    add_dialect_arguments(parser, shown=shown, top=top)
    add(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help=shown("log retries and pauses (-vv: every request, and tracebacks)"),
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="toplist",
        description="Talk to a toplistbot SMM panel (API v2) from the shell.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"%(prog)s {__version__}"
    )
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        _global_options(sub, top=False)
        sub.set_defaults(parser=sub)
        return sub

    command("services", "list the services the panel sells")
    command("balance", "show the account's balance")
    add = command("add", "place an order and print its id")
    add.add_argument(
        "--service",
        type=int,
        required=True,
        metavar="ID",
        help="the service to order, from `toplist services` (required)",
    )
    for name in ADD_OPTIONS:
        metavar, text = _ADD_HELP[name]
        kind: type[str] | type[int] = str if name == "link" else int
        add.add_argument(f"--{name}", type=kind, metavar=metavar, help=text)
    add.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra field the service's type needs (repeatable), e.g. comments=...",
    )
    ids = "order ids, space- or comma-separated"
    for name, text in (("status", "show orders' status"), ("cancel", "cancel orders")):
        command(name, text).add_argument("orders", nargs="+", metavar="ID", help=ids)
    command("refill", "ask the panel to refill orders").add_argument(
        "ids", nargs="+", metavar="ID", help=ids
    )
    command("refill-status", "show where refills stand").add_argument(
        "ids", nargs="+", metavar="ID", help="refill ids, space- or comma-separated"
    )
    watch_ = command("watch", "follow orders until every one is final")
    watch_.add_argument("orders", nargs="*", metavar="ID", help=f"{ids}; or stdin")
    watch_.add_argument(
        "--poll", type=float, default=5.0, metavar="SECONDS",
        help="seconds between two polls of an order that did not change (default: 5)",
    )  # fmt: skip
    add_fleet_commands(command, ids)
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


_VALUED_OPTIONS = frozenset(
    {"--api-key", "--base-url", "--timeout", "--encoding", *DIALECT_OPTIONS}
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `toplist` command; return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    where = _subcommand_at(words)
    if where is not None and words[where] == "fake-panel":
        # The fake panel has options of its own: hand it every word but its name.
        from ..testing import run as run_panel

        return run_panel(words[:where] + words[where + 1 :], prog="toplist fake-panel")
    _Parser.json_errors = "--json" in words
    args = _parser().parse_args(words)
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
