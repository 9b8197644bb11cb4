"""Run a `FakePanel` in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from .._dialect_options import add_dialect_arguments, dialect_from
from ._actions import FOREIGN_ORDER_MODES
from ._faults import parse_faults
from ._panel import FakePanel
from ._wire import STATUS_STYLES

__all__ = ["build_parser", "run", "serve_forever"]


async def serve_forever(
    panel: FakePanel,
    *,
    out: TextIO | None = None,
    log: TextIO | None = None,
    on_listening: Callable[[str], None] | None = None,
    report: Path | None = None,
) -> None:
    """Start `panel`, announce it, and serve until SIGINT/SIGTERM (or cancellation).

    Writes exactly one line, `listening on <base URL>`, to `out` (stdout by
    default) once the port is bound, so a parent process can wait for it.
    Then `on_listening(base_url)` is called; with `log`, each request served
    is written there as one line.
    With `report`, the requests it received per action and the orders it
    holds are written there as JSON once it stops.
    """
    out = sys.stdout if out is None else out
    base_url = await panel.start()
    try:
        out.write(f"listening on {base_url}\n")
        out.flush()
        if on_listening is not None:
            on_listening(base_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                continue  # not the main thread, or Windows: cancellation still works
            installed.append(signum)
        logging = asyncio.create_task(_log_requests(panel, log)) if log else None
        try:
            await stop.wait()
        finally:
            if logging is not None:
                logging.cancel()
                await asyncio.wait([logging])
            for signum in installed:
                loop.remove_signal_handler(signum)
    finally:
        await panel.stop()
        if report is not None:
            _write_report(panel, report)


def _write_report(panel: FakePanel, path: Path) -> None:
    requests = Counter(str(record.action) for record in panel.requests)
    summary = {
        "requests": sum(requests.values()),
        "requests_per_action": dict(sorted(requests.items())),
        "orders": len(panel.orders),
    }
    path.write_text(json.dumps(summary) + "\n")


async def _log_requests(panel: FakePanel, log: TextIO) -> None:
    """Write each request the panel answers as one line, as it comes."""
    written = 0
    while True:
        records = panel.requests
        written = min(written, len(records))  # the list may have been cleared
        for record in records[written:]:
            ids = ",".join(map(str, record.orders)) or "-"
            status = "dropped" if record.status is None else record.status
            fault = f" (fault: {record.fault})" if record.fault else ""
            log.write(f"{record.action or '?'} ids={ids} -> {status}{fault}\n")
        written = len(records)
        log.flush()
        await asyncio.sleep(0.1)


def _banner(args: argparse.Namespace, base_url: str) -> str:
    who = (
        "only the key given with --api-key works"
        if args.api_key
        else f"any API key works: each key is an account holding {args.balance} "
        f"{args.currency}"
    )
    key = args.api_key or "test-key"
    return (
        f"{who}\n"
        f"try: toplist --base-url {base_url} --api-key {key} services\n"
        "stop it with Ctrl-C\n"
    )


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        msg = f"not a number: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """Return the command line parser of `run()`."""
    parser = argparse.ArgumentParser(
        prog=prog or "python -m toplist_async.testing",
        description="Serve a fake toplistbot SMM API v2 panel until interrupted.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    add("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    add("--api-key", help="accept only this key (default: any key is an account)")
    add("--balance", type=_decimal, default=Decimal("1000"), help="starting balance")
    add("--currency", default="USD")
    add("--faults", default="", metavar="SPEC", help="e.g. server_error:0.2,reset:0.05")
    add("--seed", type=int, default=0, help="seed for faults and order outcomes")
    add("--seed-orders", type=int, default=0, metavar="N", help="pre-create N orders")
    add("--seed-orders-key", metavar="KEY", help="owner of seeded orders (test-key)")
    add("--numbers-as-strings", action="store_true", help="every number as a string")
    add("--status-style", choices=STATUS_STYLES, default="document")
    add("--errors-with-200", action="store_true", help="API errors with HTTP 200")
    add("--foreign-order-mode", choices=FOREIGN_ORDER_MODES, default="whole_request")
    add("--form-only", action="store_true", help="read form bodies only, as PHP does")
    add_dialect_arguments(parser)
    add("--rate-limit", type=int, metavar="N", help="requests per minute per key")
    add(
        "--partial-rate", type=float, default=0.1, help="share of orders ending partial"
    )
    add("--speed", type=float, default=1.0, help="simulated seconds per real second")
    add("--log", action="store_true", help="print each request served (to stderr)")
    add("--report", type=Path, metavar="FILE", help="on exit, write request counts")
    return parser


def run(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Parse `argv`, then serve a panel until SIGINT/SIGTERM; return the exit code."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        panel = FakePanel(
            api_key=args.api_key,
            balance=args.balance,
            currency=args.currency,
            numbers_as_strings=args.numbers_as_strings,
            status_style=args.status_style,
            errors_with_200=args.errors_with_200,
            foreign_order_mode=args.foreign_order_mode,
            rate_limit=args.rate_limit,
            speed=args.speed,
            seed=args.seed,
            partial_rate=args.partial_rate,
            host=args.host,
            port=args.port,
            seed_orders=args.seed_orders,
            seed_orders_key=args.seed_orders_key,
            faults=parse_faults(args.faults),
            dialect=dialect_from(args),
            form_only=args.form_only,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(_serve(panel, args))
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        sys.stderr.write(
            f"{parser.prog}: cannot listen on {where}: {exc.strerror or exc}; "
            "pick another --port (0 picks a free one)\n"
        )
        return 1
    return 0


async def _serve(panel: FakePanel, args: argparse.Namespace) -> None:
    def greet(base_url: str) -> None:
        sys.stderr.write(_banner(args, base_url))
        sys.stderr.flush()

    log = sys.stderr if args.log else None
    await serve_forever(panel, log=log, on_listening=greet, report=args.report)
