"""The `toplist` command's options: global ones once, each command's with help."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from .._client import DEFAULT_BASE_URL
from .._dialect_options import DIALECT_OPTIONS, add_dialect_arguments
from .._version import __version__
from ._commands import ADD_OPTIONS
from ._errors import EPILOG, Problem
from ._fleet import add_fleet_commands

__all__ = ["Parser", "build_parser", "subcommand_at"]

_ADD_HELP = {
    "link": ("URL", "the page, post or profile the order is for"),
    "quantity": ("N", "how many, within the service's min and max"),
    "interval": ("MINUTES", "drip-feed: minutes between two runs"),
    "runs": ("N", "drip-feed: how many runs (quantity is per run)"),
}


class Parser(argparse.ArgumentParser):
    """argparse whose errors are a JSON object on stderr under `--json`."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if Parser.json_errors:
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


def build_parser() -> argparse.ArgumentParser:
    """The `toplist` parser: global options, then one subparser per command."""
    parser = Parser(
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


def subcommand_at(words: Sequence[str]) -> int | None:
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
